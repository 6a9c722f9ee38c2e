//! Referral intake and 24/7 routing: the central station's call log, referrals from every source
//! with their procedures, consent-based commission reports, the on-call roster.

pub mod api;
pub mod directory;
pub mod hotline;
pub mod import;
pub mod model;
pub mod ops_api;
pub mod pages;
pub mod roster;
pub mod service;
pub mod store;
pub mod vocab;
