//! Organisations, user accounts and organisations' bearer tokens: stores, use cases, JSON API and
//! administrator pages.

pub mod api;
pub mod orgs;
pub mod pages;
pub mod service;
pub mod tokens;
pub mod users;
