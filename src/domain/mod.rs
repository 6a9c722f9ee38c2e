//! Shared value types and vocabularies that check their own rules (parse, don't validate). The
//! bottom of the module graph: nothing here imports a room.

pub mod account;
pub mod caller;
pub mod country;
pub mod duty;
pub mod email;
pub mod ids;
pub mod lang;
pub mod language;
pub mod names;
pub mod org_kind;
pub mod placement;
pub mod role;
pub mod source;
pub mod territory;
pub mod text;
pub mod time;
pub mod vocab;

pub use account::{DisplayName, Password, Username};
pub use caller::{Actor, Caller};
pub use country::{AgeBroad, Country};
pub use email::parse_email;
pub use ids::{
    CallId, CaseId, DataKeyId, FlagId, InterviewId, LetterId, MessageId, OrgId, PersonId, ReferralId, ShiftId, TaskId,
    TokenId, UserId, Version,
};
pub use lang::Lang;
pub use language::{language_name, languages_by_name, parse_language, parse_languages, LANGUAGES};
pub use org_kind::OrgKind;
pub use role::Role;
pub use source::{source_of, SourceKind, StationLanguage};
pub use territory::{Province, Region};
pub use time::parse_instant;
