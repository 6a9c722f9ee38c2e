//! The 1522 anti-violence helpline (*numero di pubblica utilità 1522*, seeds 000, 002, 003): its
//! network protocols (data in `protocols/helpline/`), the live transfer rules, the switchboard's
//! and the chat's logs imported from Asterisk and LiveHelperChat, contact records (schede), and
//! the quarterly report. Not the 800 290 290 anti-trafficking call log (`hotline`).

pub mod api;
pub mod chats;
pub mod directory;
pub mod export;
pub mod pages;
pub mod pdf;
pub mod report;
pub mod routing;
pub mod sample;
pub mod service;
pub mod store;
pub mod switchboard;
pub mod vocab;
