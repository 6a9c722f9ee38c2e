//! The organisations and the roster, held in memory for two seconds: routing a referral (who is
//! on duty, who speaks the person's language, is the hosting CAS a CAS) then costs no database
//! round trip. Every change to organisations, users or shifts made through this instance clears
//! it; changes made elsewhere (another instance, the command line) are seen within two seconds.
//! Whatever the snapshot cannot answer exactly (an organisation it does not know, several
//! operators on duty to balance) goes to the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::NewReferral;
use super::roster::ShiftRow;
use super::store::Routing;
use super::vocab::{Duty, ShiftMode};
use crate::accounts::users::UserRow;
use crate::db::schema::{organisations, shifts, users};
use crate::db::DbConn;
use crate::domain::OrgKind;
use crate::error::AppError;

const TTL: Duration = Duration::from_secs(2);

/// What a snapshot holds.
pub struct Snapshot {
    taken: Instant,
    /// The database clock when taken: shifts are loaded for the day after it.
    at: NaiveDateTime,
    orgs: HashMap<i64, (OrgKind, String)>,
    shifts: Vec<(ShiftRow, UserRow)>,
}

#[derive(Default)]
pub struct Directory {
    current: Mutex<Option<Arc<Snapshot>>>,
}

impl Directory {
    /// Forgets the snapshot (after a change through this instance).
    pub fn clear(&self) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The snapshot, if fresh and taken for a time close to `now`.
    pub fn fresh(&self, now: NaiveDateTime) -> Option<Arc<Snapshot>> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|s| s.taken.elapsed() < TTL && now >= s.at && now - s.at < chrono::Duration::hours(12))
            .cloned()
    }

    /// Takes a new snapshot with `conn`.
    pub fn refresh(&self, conn: &mut DbConn, now: NaiveDateTime) -> Result<(), AppError> {
        let orgs = organisations::table
            .select((organisations::id, organisations::kind, organisations::name))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, kind, name)| (id, (OrgKind::parse(&kind).unwrap_or(OrgKind::Other), name)))
            .collect();
        let shifts = shifts::table
            .inner_join(users::table)
            .filter(shifts::ends_at.gt(now))
            .filter(shifts::starts_at.lt(now + chrono::Duration::hours(24)))
            .filter(users::disabled.eq(false))
            .select((ShiftRow::as_select(), UserRow::as_select()))
            .order((shifts::starts_at.asc(), shifts::id.asc()))
            .load(conn)?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Snapshot {
            taken: Instant::now(),
            at: now,
            orgs,
            shifts,
        }));
        Ok(())
    }
}

impl Snapshot {
    fn covering(&self, duty: Duty, at: NaiveDateTime) -> Vec<&UserRow> {
        let mut rows: Vec<&(ShiftRow, UserRow)> = self
            .shifts
            .iter()
            .filter(|(s, _)| s.duty() == duty && s.starts_at <= at && s.ends_at > at)
            .collect();
        rows.sort_by_key(|(s, _)| s.mode() != ShiftMode::OnDuty);
        rows.into_iter().map(|(_, u)| u).collect()
    }

    fn org(&self, field: &str, id: i64, kinds: &[OrgKind]) -> Option<Result<String, AppError>> {
        let (kind, name) = self.orgs.get(&id)?;
        if !kinds.is_empty() && !kinds.contains(kind) {
            return Some(Err(AppError::invalid(
                field,
                "is not an organisation of the right kind",
            )));
        }
        Some(Ok(name.clone()))
    }

    /// The routing of a referral as `store::prepare` would find it, or `None` when only the
    /// database can say.
    pub fn prepare(&self, new: &NewReferral, now: NaiveDateTime) -> Option<Result<Routing, AppError>> {
        if let Some(id) = new.referring_org_id {
            if let Err(e) = self.org("referring_org_id", id, &[])? {
                return Some(Err(e));
            }
        }
        let hosted_name = match new.hosted_org_id {
            Some(id) => match self.org("person.hosted_org_id", id, &[OrgKind::Cas, OrgKind::Sai])? {
                Ok(name) => Some(name),
                Err(e) => return Some(Err(e)),
            },
            None => None,
        };
        if let Some(c) = &new.consent {
            if let Err(e) = self.org(
                "referring_org_id",
                c.commission_org_id,
                &[OrgKind::TerritorialCommission],
            )? {
                return Some(Err(e));
            }
        }
        let operators = self.covering(Duty::Operator, now);
        if operators.len() > 1 {
            return None; // sharing the load needs each operator's waiting referrals
        }
        let wanted: Vec<&String> = new.languages.iter().filter(|l| l.as_str() != "it").collect();
        let mediator = if wanted.is_empty() {
            None
        } else {
            self.covering(Duty::Mediator, now)
                .into_iter()
                .find(|u| u.language_list().iter().any(|l| wanted.contains(&l)))
                .cloned()
        };
        Some(Ok(Routing::new(
            operators.first().map(|u| (*u).clone()),
            mediator,
            hosted_name,
        )))
    }
}
