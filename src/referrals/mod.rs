//! Referral intake and 24/7 routing: the central station's call log, referrals from every source
//! with their procedures, consent-based commission reports, the on-call roster.

pub mod import;
pub mod vocab;
