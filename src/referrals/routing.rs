//! Who a new referral goes to: the operator on duty (fewest waiting referrals first) and a
//! mediator on shift who speaks the person's language; with the hosting CAS's name for the
//! history. Worked out before the write transaction, so that SQLite's single writer spends its
//! turn on writes, from the roster's directory when it can answer exactly.

use super::model::NewReferral;
use crate::accounts::orgs;
use crate::accounts::users::UserRow;
use crate::app::{App, Cache};
use crate::db::DbConn;
use crate::domain::{OrgId, OrgKind, UserId};
use crate::error::AppError;
use crate::roster::directory::{Directory, Snapshot};
use crate::roster::{store as roster, Duty, ShiftMode};
use chrono::NaiveDateTime;

/// The routing of one referral.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    pub operator: Option<UserRow>,
    pub mediator: Option<UserRow>,
    pub hosted_name: Option<String>,
}

const HOSTS: &[OrgKind] = &[OrgKind::Cas, OrgKind::Sai];
const COMMISSIONS: &[OrgKind] = &[OrgKind::TerritorialCommission];

fn wrong_kind(field: &str) -> AppError {
    AppError::invalid(field, "is not an organisation of the right kind")
}

/// Routes a referral: from the directory snapshot when it can answer (refreshing it when stale),
/// else from the database.
pub async fn route(app: &App, new: &NewReferral, now: NaiveDateTime) -> Result<Routing, AppError> {
    let snapshot = match Directory::fresh(app, now) {
        Some(s) => s,
        None => {
            let generation = app.generation(Cache::Directory);
            let loaded = app.db.read(move |conn| Snapshot::load(conn, generation, now)).await?;
            Directory::install(app, loaded)
        }
    };
    if let Some(answer) = from_snapshot(&snapshot, new, now) {
        return answer;
    }
    let new = new.clone();
    app.db.read(move |conn| prepare(conn, &new, now)).await
}

/// The routing as the database has it now; checks the organisations a referral names.
pub fn prepare(conn: &mut DbConn, new: &NewReferral, now: NaiveDateTime) -> Result<Routing, AppError> {
    if let Some(id) = new.referring_org_id {
        require_org(conn, "referring_org_id", id, &[])?;
    }
    let hosted_name = match new.hosted_org_id {
        Some(id) => Some(require_org(conn, "person.hosted_org_id", id, HOSTS)?.name),
        None => None,
    };
    if let Some(c) = &new.consent {
        require_org(conn, "referring_org_id", c.commission_org_id, COMMISSIONS)?;
    }
    Ok(Routing {
        operator: pick_operator(conn, now)?,
        mediator: roster::pick_mediator(conn, now, &new.languages)?,
        hosted_name,
    })
}

fn require_org(conn: &mut DbConn, field: &str, id: OrgId, kinds: &[OrgKind]) -> Result<orgs::OrgRow, AppError> {
    let org = orgs::get(conn, id).map_err(|e| match e {
        AppError::NotFound => AppError::invalid(field, "no such organisation"),
        other => other,
    })?;
    if !kinds.is_empty() && !kinds.contains(&org.kind) {
        return Err(wrong_kind(field));
    }
    Ok(org)
}

/// The routing as a snapshot of the directory has it, or `None` when only the database can say
/// (an organisation it does not know, several operators on duty to balance).
pub fn from_snapshot(s: &Snapshot, new: &NewReferral, now: NaiveDateTime) -> Option<Result<Routing, AppError>> {
    let org = |field: &str, id: OrgId, kinds: &[OrgKind]| -> Option<Result<String, AppError>> {
        let (kind, name) = s.org(id)?;
        if !kinds.is_empty() && !kinds.contains(&kind) {
            return Some(Err(wrong_kind(field)));
        }
        Some(Ok(name.to_owned()))
    };
    if let Some(id) = new.referring_org_id {
        if let Err(e) = org("referring_org_id", id, &[])? {
            return Some(Err(e));
        }
    }
    let hosted_name = match new.hosted_org_id {
        Some(id) => match org("person.hosted_org_id", id, HOSTS)? {
            Ok(name) => Some(name),
            Err(e) => return Some(Err(e)),
        },
        None => None,
    };
    if let Some(c) = &new.consent {
        if let Err(e) = org("referring_org_id", c.commission_org_id, COMMISSIONS)? {
            return Some(Err(e));
        }
    }
    let operators = s.covering(Duty::Operator, now);
    if operators.len() > 1 {
        return None; // sharing the load needs each operator's waiting referrals
    }
    Some(Ok(Routing {
        operator: operators.first().map(|u| (*u).clone()),
        mediator: s.mediator_for(now, &new.languages),
        hosted_name,
    }))
}

/// The operator to assign a new referral to: on duty now (at the desk before on call), with the
/// fewest referrals still waiting on them, so that a long night is shared. One grouped count,
/// not a query per operator.
pub fn pick_operator(conn: &mut DbConn, at: NaiveDateTime) -> Result<Option<UserRow>, AppError> {
    let candidates = roster::covering(conn, Duty::Operator, at)?;
    if candidates.len() <= 1 {
        return Ok(candidates.into_iter().next().map(|(_, u)| u));
    }
    let ids: Vec<UserId> = candidates.iter().map(|(_, u)| u.id).collect();
    let waiting = super::store::waiting_by_operator(conn, &ids)?;
    Ok(candidates
        .into_iter()
        .min_by_key(|(s, u)| (s.mode != ShiftMode::OnDuty, waiting.get(&u.id).copied().unwrap_or(0)))
        .map(|(_, u)| u))
}
