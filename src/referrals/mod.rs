//! Referral intake and the unit's decisions: referrals from every source with their procedures
//! (seed 004), consent-based commission reports, routing to the unit on duty, decisions,
//! feedback, escalation, and drafts imported from the unit's mailbox.

pub mod api;
pub mod import;
pub mod lifecycle;
pub mod model;
pub mod pages;
pub mod policy;
pub mod routing;
pub mod service;
pub mod store;
pub mod vocab;
