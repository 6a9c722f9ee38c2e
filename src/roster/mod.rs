//! The crisis unit's 24/7 roster (*reperibilità*): shifts of operators, coordinators and
//! mediators, who covers each duty at an instant, the gaps a coordinator must fill in advance, and
//! the routing directory (who is on now, which organisation is which) that intake reads, and
//! casework and placements will read, without a database round trip.

pub mod api;
pub mod directory;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub use directory::Directory;
pub use model::{Duty, ShiftMode};
