//! The append-only audit log: who, when, from where, what, on which record, with what outcome.
//!
//! Entries never hold personal data beyond the actor's user name and address: entity ids are
//! opaque numbers, details are codes. Writes are recorded in the same transaction as the change
//! they describe, so there is no unaudited write.

pub mod api;
pub mod pages;
pub mod store;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Actor, Principal};
use crate::db::schema::audit_log;
use crate::db::DbConn;
use crate::error::AppError;

/// How an audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Refused by a permission or a rule (wrong role, locked account, bad CSRF token).
    Denied,
    /// Attempted and failed (wrong password, invalid input).
    Failure,
}

impl Outcome {
    pub const ALL: &'static [Outcome] = &[Outcome::Success, Outcome::Denied, Outcome::Failure];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.iter().copied().find(|o| o.as_str() == s)
    }
}

/// Who acts, from where, in which request: copied into every entry.
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub actor_kind: &'static str,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub label: Option<String>,
    pub role: Option<String>,
    pub org_id: Option<i64>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Who {
    /// The caller of a request, or an anonymous one.
    pub fn from_request(principal: Option<&Principal>, ip: Option<String>, request_id: Option<String>) -> Who {
        match principal {
            Some(p) => {
                let (kind, user_id, token_id, label) = match &p.actor {
                    Actor::User { id, username, .. } => ("user", Some(*id), None, username.clone()),
                    Actor::Token { id, label } => ("token", None, Some(*id), label.clone()),
                };
                Who {
                    actor_kind: kind,
                    user_id,
                    token_id,
                    label: Some(label),
                    role: Some(p.role.as_str().to_owned()),
                    org_id: p.org_id,
                    ip,
                    request_id,
                }
            }
            None => Who {
                actor_kind: "anonymous",
                ip,
                request_id,
                ..Who::default()
            },
        }
    }

    /// The command line (`varco user add`, …), run by whoever has shell access.
    pub fn cli() -> Who {
        Who {
            actor_kind: "system",
            label: Some("cli".into()),
            ..Who::default()
        }
    }

    /// The service itself (background jobs).
    pub fn system(label: &str) -> Who {
        Who {
            actor_kind: "system",
            label: Some(label.into()),
            ..Who::default()
        }
    }
}

/// One audited event.
#[derive(Clone, Debug)]
pub struct Event {
    pub action: &'static str,
    pub entity_type: Option<&'static str>,
    pub entity_id: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

impl Event {
    pub fn new(action: &'static str) -> Event {
        Event {
            action,
            entity_type: None,
            entity_id: None,
            outcome: Outcome::Success,
            detail: None,
        }
    }

    pub fn entity(mut self, kind: &'static str, id: impl ToString) -> Event {
        self.entity_type = Some(kind);
        self.entity_id = Some(id.to_string());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Event {
        self.outcome = outcome;
        self
    }

    /// A short non-personal code or description (never a name or free text from a form).
    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = Some(detail.into());
        self
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    at: NaiveDateTime,
    actor_kind: &'a str,
    actor_user_id: Option<i64>,
    actor_token_id: Option<i64>,
    actor_label: Option<&'a str>,
    actor_role: Option<&'a str>,
    org_id: Option<i64>,
    ip: Option<&'a str>,
    request_id: Option<&'a str>,
    action: &'a str,
    entity_type: Option<&'a str>,
    entity_id: Option<&'a str>,
    outcome: &'a str,
    detail: Option<&'a str>,
}

/// Appends an entry. Call it inside the transaction of the change it records.
pub fn record(conn: &mut DbConn, who: &Who, at: NaiveDateTime, event: Event) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values(NewEntry {
            at,
            actor_kind: who.actor_kind,
            actor_user_id: who.user_id,
            actor_token_id: who.token_id,
            actor_label: who.label.as_deref(),
            actor_role: who.role.as_deref(),
            org_id: who.org_id,
            ip: who.ip.as_deref(),
            request_id: who.request_id.as_deref(),
            action: event.action,
            entity_type: event.entity_type,
            entity_id: event.entity_id.as_deref(),
            outcome: event.outcome.as_str(),
            detail: event.detail.as_deref(),
        })
        .execute(conn)?;
    Ok(())
}
