//! Casework: what the crisis unit does after a referral is taken in charge (seed 004): the case
//! about a person, its lifecycle and timeline, interviews with mediators, the psycho-social
//! assessment, outcomes, written feedback, tasks and flags.

pub mod api;
pub mod feedback;
pub mod lifecycle;
pub mod pages;
pub mod service;
pub mod store;
pub mod vocab;
pub mod work;
