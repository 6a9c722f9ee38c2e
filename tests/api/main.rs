//! The integration suite: one binary, every scenario on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod accounts;
mod architecture;
mod audit;
mod auth;
mod browser;
mod casework;
mod cli;
mod data_protection;
mod errors;
mod feedback;
mod helpline;
mod import;
mod notify;
mod observatory;
mod openapi;
mod pages;
mod persons;
mod placements;
mod referrals;
mod security;
mod service;
mod snapshots;
mod storage;
mod testdb;
