//! Varco: the case manager of Italy's anti-trafficking referral system (toll-free 800 290 290)
//! and of its 24/7 crisis and evaluation unit.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod casework;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod helpline;
pub mod hotline;
pub mod notify;
pub mod observatory;
pub mod openapi;
pub mod pages;
pub mod pdf;
pub mod persons;
pub mod placements;
pub mod protocols;
pub mod referrals;
pub mod roster;
pub mod startup;
pub mod telemetry;
pub mod web;
