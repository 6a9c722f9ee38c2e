//! The organisations and the roster, held in memory for two seconds: routing a referral (who is
//! on duty, who speaks the person's language, is the hosting CAS a CAS) then costs no database
//! round trip. Every change to organisations, users or shifts made through this instance makes it
//! stale at once ([`Cache::Directory`]); changes made elsewhere (another instance, the command
//! line) are seen within two seconds. Whatever a snapshot cannot answer exactly (an organisation
//! it does not know, several operators on duty to balance) its users ask the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Duty, ShiftMode};
use super::store::{self, ShiftRow};
use crate::accounts::users::UserRow;
use crate::app::{App, Cache};
use crate::db::schema::organisations;
use crate::db::DbConn;
use crate::domain::{OrgId, OrgKind};
use crate::error::AppError;

const TTL: Duration = Duration::from_secs(2);

/// What a snapshot holds.
pub struct Snapshot {
    taken: Instant,
    /// The cache generation when the load began: a change since makes it stale.
    generation: u64,
    /// The database clock when taken: shifts are loaded for the day after it.
    at: NaiveDateTime,
    orgs: HashMap<OrgId, (OrgKind, String)>,
    shifts: Vec<(ShiftRow, UserRow)>,
}

/// The instance's routing directory (an [`App`] singleton).
#[derive(Default)]
pub struct Directory {
    current: Mutex<Option<Arc<Snapshot>>>,
}

impl Directory {
    /// The snapshot, if fresh and taken for a time close to `now`.
    pub fn fresh(app: &App, now: NaiveDateTime) -> Option<Arc<Snapshot>> {
        let this = app.singleton::<Directory>();
        let generation = app.generation(Cache::Directory);
        let current = this.current.lock().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|s| {
                s.generation == generation
                    && s.taken.elapsed() < TTL
                    && now >= s.at
                    && now - s.at < chrono::Duration::hours(12)
            })
            .cloned()
    }

    /// Makes `snapshot` the instance's current one.
    pub fn install(app: &App, snapshot: Snapshot) -> Arc<Snapshot> {
        let snapshot = Arc::new(snapshot);
        let this = app.singleton::<Directory>();
        *this.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.clone());
        snapshot
    }
}

impl Snapshot {
    /// Loads a snapshot for `now`; `generation` is the directory's cache generation read before
    /// the load, so that a change committed meanwhile leaves it stale.
    pub fn load(conn: &mut DbConn, generation: u64, now: NaiveDateTime) -> Result<Snapshot, AppError> {
        let orgs = organisations::table
            .select((organisations::id, organisations::kind, organisations::name))
            .load::<(OrgId, OrgKind, String)>(conn)?
            .into_iter()
            .map(|(id, kind, name)| (id, (kind, name)))
            .collect();
        let shifts = store::upcoming(conn, now)?;
        Ok(Snapshot {
            taken: Instant::now(),
            generation,
            at: now,
            orgs,
            shifts,
        })
    }

    /// People covering `duty` at `at`, those at the desk first.
    pub fn covering(&self, duty: Duty, at: NaiveDateTime) -> Vec<&UserRow> {
        let mut rows: Vec<&(ShiftRow, UserRow)> = self
            .shifts
            .iter()
            .filter(|(s, _)| s.duty == duty && s.starts_at <= at && s.ends_at > at)
            // Only someone who can open what they are routed (a shift left by a role change).
            .filter(|(_, u)| !u.disabled && super::model::fits(duty, u.role))
            .collect();
        rows.sort_by_key(|(s, _)| s.mode != ShiftMode::OnDuty);
        rows.into_iter().map(|(_, u)| u).collect()
    }

    /// An organisation's kind and name; `None` when the snapshot does not know it.
    pub fn org(&self, id: OrgId) -> Option<(OrgKind, &str)> {
        self.orgs.get(&id).map(|(k, n)| (*k, n.as_str()))
    }

    /// A mediator on shift now who speaks one of `languages` (Italian needs none).
    pub fn mediator_for(&self, at: NaiveDateTime, languages: &[String]) -> Option<UserRow> {
        let wanted: Vec<&String> = languages.iter().filter(|l| l.as_str() != "it").collect();
        if wanted.is_empty() {
            return None;
        }
        self.covering(Duty::Mediator, at)
            .into_iter()
            .find(|u| u.languages.iter().any(|l| wanted.contains(&l)))
            .cloned()
    }
}
