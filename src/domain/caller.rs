//! Who is acting, in what role and organisation, from where and at what time: what every service
//! receives instead of an HTTP request, so that the API, the pages, the command line and the
//! background jobs call the same functions.

use chrono::NaiveDateTime;

use super::{OrgId, OrgKind, Role, TokenId, UserId};

/// A person (through a session), an organisation's system (through a bearer token), the service
/// itself or nobody yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User {
        id: UserId,
        username: String,
        display_name: String,
    },
    Token {
        id: TokenId,
        label: String,
    },
    /// The command line or a background job, named by its label (`cli`, `escalation`).
    System {
        label: &'static str,
    },
    Anonymous,
}

/// The caller of a service.
#[derive(Clone, Debug)]
pub struct Caller {
    pub actor: Actor,
    /// `None` for the system and for anonymous callers.
    pub role: Option<Role>,
    pub org_id: Option<OrgId>,
    /// The kind of the caller's organisation (read with the caller, to spare a query later).
    pub org_kind: Option<OrgKind>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// The instant of the call, from the injected clock (UTC, microseconds).
    pub now: NaiveDateTime,
}

impl Caller {
    /// The command line, run by whoever has shell access to the server.
    pub fn cli(now: NaiveDateTime) -> Caller {
        Caller::system("cli", now)
    }

    /// The service itself (background jobs: escalation, housekeeping).
    pub fn system(label: &'static str, now: NaiveDateTime) -> Caller {
        Caller {
            actor: Actor::System { label },
            role: None,
            org_id: None,
            org_kind: None,
            ip: None,
            request_id: None,
            now,
        }
    }

    /// Nobody signed in (login, setup).
    pub fn anonymous(ip: Option<String>, request_id: Option<String>, now: NaiveDateTime) -> Caller {
        Caller {
            actor: Actor::Anonymous,
            role: None,
            org_id: None,
            org_kind: None,
            ip,
            request_id,
            now,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self.actor {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn token_id(&self) -> Option<TokenId> {
        match self.actor {
            Actor::Token { id, .. } => Some(id),
            _ => None,
        }
    }

    /// True for a caller holding `role`.
    pub fn is(&self, role: Role) -> bool {
        self.role == Some(role)
    }

    /// How the caller is named in a record's history: user name, token label or system label.
    pub fn label(&self) -> String {
        match &self.actor {
            Actor::User { username, .. } => username.clone(),
            Actor::Token { id, label } => format!("token {id}: {label}"),
            Actor::System { label } => (*label).to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
        }
    }

    /// The same caller at another instant (a long job that reads the clock again).
    pub fn at(&self, now: NaiveDateTime) -> Caller {
        Caller { now, ..self.clone() }
    }
}
