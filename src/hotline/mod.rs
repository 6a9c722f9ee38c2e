//! The central station's call log (*Postazione Centrale*, 800 290 290): every call, referral or
//! not, with its language, caller, territory and outcome. Diverted calls are proposed the
//! regional Art. 18 project of the caller's region (`protocols/regional_projects.toml`).

pub mod api;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
