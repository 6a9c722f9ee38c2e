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

use crate::app::{App, Cache};
use crate::db::schema::audit_log;
use crate::db::DbConn;
use crate::domain::{Actor, Caller, OrgId, Role, TokenId, UserId};
use crate::error::AppError;

crate::vocabulary! {
    /// How an audited action ended.
    Outcome ("outcome") {
        Success = "success" => ("riuscito", "success"),
        /// Refused by a permission or a rule (wrong role, locked account, bad CSRF token).
        Denied = "denied" => ("negato", "denied"),
        /// Attempted and failed (wrong password, invalid input).
        Failure = "failure" => ("fallito", "failure"),
    }
}

crate::vocabulary! {
    /// Who acted: a person, an organisation's system, the service itself, or nobody signed in.
    ActorKind ("actor_kind") {
        User = "user" => ("Utente", "User"),
        Token = "token" => ("Sistema di un'organizzazione (token)", "Organisation's system (token)"),
        System = "system" => ("Servizio", "Service"),
        Anonymous = "anonymous" => ("Anonimo", "Anonymous"),
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
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
struct NewEntry<'a> {
    at: NaiveDateTime,
    actor_kind: ActorKind,
    actor_user_id: Option<UserId>,
    actor_token_id: Option<TokenId>,
    actor_label: Option<&'a str>,
    actor_role: Option<Role>,
    org_id: Option<OrgId>,
    ip: Option<&'a str>,
    request_id: Option<&'a str>,
    action: &'a str,
    entity_type: Option<&'a str>,
    entity_id: Option<&'a str>,
    outcome: Outcome,
    detail: Option<&'a str>,
}

/// Appends an entry for `caller`, at the caller's instant. Call it inside the transaction of the
/// change it records.
pub fn record(conn: &mut DbConn, caller: &Caller, event: Event) -> Result<(), AppError> {
    let (actor_kind, user_id, token_id, label) = match &caller.actor {
        Actor::User { id, username, .. } => (ActorKind::User, Some(*id), None, Some(username.as_str())),
        Actor::Token { id, label } => (ActorKind::Token, None, Some(*id), Some(label.as_str())),
        Actor::System { label } => (ActorKind::System, None, None, Some(*label)),
        Actor::Anonymous => (ActorKind::Anonymous, None, None, None),
    };
    let entry = NewEntry {
        at: caller.now,
        actor_kind,
        actor_user_id: user_id,
        actor_token_id: token_id,
        actor_label: label,
        actor_role: caller.role,
        org_id: caller.org_id,
        ip: caller.ip.as_deref(),
        request_id: caller.request_id.as_deref(),
        action: event.action,
        entity_type: event.entity_type,
        entity_id: event.entity_id.as_deref(),
        outcome: event.outcome,
        detail: event.detail.as_deref(),
    };
    crate::on_backend!(conn, |c| diesel::insert_into(audit_log::table)
        .values(&entry)
        .execute(c))?;
    Ok(())
}

/// A write in progress: its connection (inside the transaction) and the audit entries it owes.
pub struct Tx<'a> {
    pub conn: &'a mut DbConn,
    caller: &'a Caller,
    audited: bool,
}

impl Tx<'_> {
    /// Records an audit entry in this transaction.
    pub fn audit(&mut self, event: Event) -> Result<(), AppError> {
        self.audited = true;
        record(self.conn, self.caller, event)
    }

    /// Declares that this write changed nothing that needs an entry (a background job that found
    /// nothing to do).
    pub fn nothing_to_audit(&mut self) {
        self.audited = true;
    }

    /// Records an entry in the name of another caller (the administrator just created by setup).
    pub fn audit_as(&mut self, caller: &Caller, event: Event) -> Result<(), AppError> {
        self.audited = true;
        record(self.conn, caller, event)
    }

    pub fn caller(&self) -> &Caller {
        self.caller
    }
}

/// Runs `change` as one audited write: the change and its audit entries land together or not at
/// all, and the caches named are marked stale once it is over (whatever its outcome: a failed
/// write may have been retried elsewhere, and a reload costs little). A change that records no
/// audit entry is refused: there is no unaudited write.
pub async fn write<T, F>(app: &App, caller: &Caller, caches: &[Cache], change: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
{
    let caller = caller.clone();
    let result = app
        .db
        .write(move |conn| {
            let mut tx = Tx {
                conn,
                caller: &caller,
                audited: false,
            };
            let value = change(&mut tx)?;
            if !tx.audited {
                return Err(AppError::Internal("a write recorded no audit entry".into()));
            }
            Ok(value)
        })
        .await;
    for cache in caches {
        app.invalidate(*cache);
    }
    result
}

/// An audited read: `read` runs on a connection of the pool, outside the writer (a read never
/// waits behind writes, nor can it fail them), and returns what it read with the audit entry it
/// owes; the entry is then written, and the answer given only once it is stored.
pub async fn read<T, F>(app: &App, caller: &Caller, read: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<(T, Event), AppError> + Send + 'static,
{
    let (value, event) = app.db.read(read).await?;
    let caller = caller.clone();
    app.db.write(move |conn| record(conn, &caller, event)).await?;
    Ok(value)
}

/// Records one entry on its own (a refusal, a login attempt).
pub async fn record_now(app: &App, caller: &Caller, event: Event) -> Result<(), AppError> {
    let caller = caller.clone();
    app.db.write(move |conn| record(conn, &caller, event)).await
}

/// Reads the log (itself an audited read: it names people and addresses).
pub async fn search(app: &App, caller: &Caller, filter: store::Filter) -> Result<store::EntryPage, AppError> {
    filter.check()?;
    read(app, caller, move |conn| {
        let page = store::search(conn, &filter)?;
        let n = page.entries.len();
        Ok((page, Event::new("audit.read").detail(format!("{n} entries"))))
    })
    .await
}
