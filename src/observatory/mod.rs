//! The observatory (seed 004, "Osservatorio sul fenomeno": every case signalled to the crisis unit
//! registered with its indicators; "la stessa persona può emergere attraverso i diversi canali:
//! importanza del monitoraggio, raccolta dati e OSSERVATORIO unico"): frequency tables and
//! cross-tables of any two indicators for any period and territory, in three measures never
//! mixed (referrals, cases, persons counted once through the person links), with disclosure
//! control for what leaves the crisis unit, and the exports an analyst takes away.

pub mod api;
pub mod chart;
pub mod disclosure;
pub mod export;
pub mod model;
pub mod pages;
pub mod pdf;
pub mod release;
pub mod service;
pub mod store;
