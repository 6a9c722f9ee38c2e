//! One person across channels (seed 004: "la stessa persona può emergere attraverso i diversi
//! canali"): a CAS operator, then the commission, then a street unit may report the same person.
//! For each referral the unit sees the persons already known who may be the same one, with a
//! score and the reason per field, found through blind indexes of the encrypted fields; the
//! operators confirm, reject or undo each link, and each decision is kept with who and when.
//! A person's page shows their journey across channels, referrals and cases.
//!
//! Taking a referral in charge (`casework`) opens the case of its person or joins their open
//! case: a link made before the referral is taken in charge decides which. A link or unlink made
//! afterwards moves the referral's person; the HTTP layer then has `casework` make a case that
//! answers only that referral follow it.

pub mod api;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
