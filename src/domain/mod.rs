//! Shared value types that check their own rules (parse, don't validate).

pub mod account;
pub mod org_kind;
pub mod role;
pub mod territory;
pub mod vocab;

pub use account::{DisplayName, Password, Username};
pub use org_kind::OrgKind;
pub use role::Role;
pub use territory::{Province, Region};
