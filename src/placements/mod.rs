//! Escape points (*punti di fuga*, seed 004: "pronta accoglienza protetta anche in emergenza 24/7
//! … attraverso 12 punti di fuga distribuiti sul territorio") and the placements of persons in
//! them: the registry, the live availability board, holds that expire by themselves, placements
//! with check-in and check-out, turn-aways. A point's capacity is never exceeded (one transaction,
//! the point's row locked on PostgreSQL) and its address is sealed and shown only on request,
//! audited.

pub mod api;
pub mod distance;
pub mod lifecycle;
pub mod pages;
pub mod service;
pub mod store;
pub mod vocab;
