//! Reading the audit log: filtered, newest first, paged by id.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ActorKind, Outcome};
use crate::clock::rome;
use crate::db::schema::audit_log;
use crate::db::{DbBackend, DbConn};
use crate::domain::time::{next_day, rome_day_start, OUT_OF_RANGE};
use crate::domain::{OrgId, Role, TokenId, UserId};
use crate::error::AppError;

/// An entry as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct EntryRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<TokenId>,
    pub actor_label: Option<String>,
    pub actor_role: Option<Role>,
    pub org_id: Option<OrgId>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

/// An entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    /// Europe/Rome, RFC 3339.
    pub at: DateTime<FixedOffset>,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<i64>,
    pub actor_token_id: Option<i64>,
    /// User name or token label at the time.
    pub actor_label: Option<String>,
    pub actor_role: Option<Role>,
    pub org_id: Option<i64>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

impl From<EntryRow> for EntryView {
    fn from(r: EntryRow) -> Self {
        EntryView {
            id: r.id,
            at: rome(r.at),
            actor_kind: r.actor_kind,
            actor_user_id: r.actor_user_id.map(UserId::get),
            actor_token_id: r.actor_token_id.map(TokenId::get),
            actor_label: r.actor_label,
            actor_role: r.actor_role,
            org_id: r.org_id.map(OrgId::get),
            ip: r.ip,
            request_id: r.request_id,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            outcome: r.outcome,
            detail: r.detail,
        }
    }
}

/// Filters of the audit log; days are Europe/Rome calendar days, both ends included.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// First day (YYYY-MM-DD).
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD).
    pub to: Option<NaiveDate>,
    /// User name or token label.
    pub actor: Option<String>,
    /// Action, or its beginning (`auth.` matches every login and logout).
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub outcome: Option<Outcome>,
    /// Only entries older than this id (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// Entries per page (1–500, default 100).
    pub limit: Option<i64>,
}

/// One page of entries and where the next one starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryPage {
    pub entries: Vec<EntryView>,
    /// Pass as `before` for older entries; absent on the last page.
    pub next_before: Option<i64>,
}

fn like_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Filter {
    /// Checks the values that serde cannot (400 naming the parameter).
    pub fn check(&self) -> Result<(), AppError> {
        self.bounds()?;
        if let Some(l) = self.limit {
            if !(1..=500).contains(&l) {
                return Err(AppError::bad_request("limit", "must be between 1 and 500"));
            }
        }
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f > t {
                return Err(AppError::bad_request("to", "must not be before from"));
            }
        }
        Ok(())
    }
}

impl Filter {
    /// The instants `from` and `to` stand for (Europe/Rome days, `to` included); 400 for days
    /// out of the accepted range.
    fn bounds(&self) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), AppError> {
        let start =
            |d: NaiveDate, field: &str| rome_day_start(d).ok_or_else(|| AppError::bad_request(field, OUT_OF_RANGE));
        let from = self.from.map(|d| start(d, "from")).transpose()?;
        let to = match self.to {
            None => None,
            Some(d) => Some(start(
                next_day(d).ok_or_else(|| AppError::bad_request("to", OUT_OF_RANGE))?,
                "to",
            )?),
        };
        Ok((from, to))
    }
}

/// Entries matching `f`, newest first.
pub fn search(conn: &mut DbConn, f: &Filter) -> Result<EntryPage, AppError> {
    f.check()?;
    let limit = f.limit.unwrap_or(100);
    let (from, to) = f.bounds()?;
    let mut q = audit_log::table.into_boxed::<DbBackend>();
    if let Some(t) = from {
        q = q.filter(audit_log::at.ge(t));
    }
    if let Some(t) = to {
        q = q.filter(audit_log::at.lt(t));
    }
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(a) = text(&f.actor) {
        q = q.filter(audit_log::actor_label.eq(a));
    }
    if let Some(a) = text(&f.action) {
        q = q.filter(audit_log::action.like(like_prefix(&a)).escape('\\'));
    }
    if let Some(t) = text(&f.entity_type) {
        q = q.filter(audit_log::entity_type.eq(t));
    }
    if let Some(i) = text(&f.entity_id) {
        q = q.filter(audit_log::entity_id.eq(i));
    }
    if let Some(o) = f.outcome {
        q = q.filter(audit_log::outcome.eq(o));
    }
    if let Some(b) = f.before {
        q = q.filter(audit_log::id.lt(b));
    }
    let rows: Vec<EntryRow> = q
        .select(EntryRow::as_select())
        .order(audit_log::id.desc())
        .limit(limit + 1)
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    let entries: Vec<EntryView> = rows.into_iter().take(limit as usize).map(EntryView::from).collect();
    let next_before = if more { entries.last().map(|e| e.id) } else { None };
    Ok(EntryPage { entries, next_before })
}
