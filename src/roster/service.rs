//! The roster's use cases, shared by the API, the pages and the command line.

use chrono::{NaiveDate, NaiveDateTime};

use super::model::{Duty, RosterView, ShiftInput, ShiftView};
use super::store;
use crate::accounts::users::{self, UserRow};
use crate::app::{App, Cache};
use crate::audit::{self, Event};
use crate::clock::{rome, ROME};
use crate::domain::time::{add_days, rome_day_start, OUT_OF_RANGE};
use crate::domain::{Caller, Role, ShiftId};
use crate::error::AppError;

/// The period a roster view covers: from the start of `from` (Rome; default today, and then from
/// now: past hours are not gaps to fill) for `days` days (1–31, default 7).
pub fn period(
    from: Option<NaiveDate>,
    days: Option<i64>,
    now: NaiveDateTime,
) -> Result<(NaiveDateTime, NaiveDateTime), AppError> {
    let days = days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(AppError::bad_request("days", "must be between 1 and 31"));
    }
    let today = now.and_utc().with_timezone(&ROME).date_naive();
    let first = from.unwrap_or(today);
    let start = rome_day_start(first).ok_or_else(|| AppError::bad_request("from", OUT_OF_RANGE))?;
    let start = if first == today { now.max(start) } else { start };
    let end = add_days(first, days)
        .and_then(rome_day_start)
        .ok_or_else(|| AppError::bad_request("from", OUT_OF_RANGE))?;
    Ok((start, end))
}

/// The roster of a period: shifts, who is on now, the gaps ahead (an audited read: it names staff).
pub async fn view(
    app: &App,
    caller: &Caller,
    from: Option<NaiveDate>,
    days: Option<i64>,
) -> Result<RosterView, AppError> {
    let now = caller.now;
    let (start, end) = period(from, days, now)?;
    audit::read(app, caller, move |conn| {
        let shifts = store::between(conn, start, end)?;
        let mut current = Vec::new();
        for duty in Duty::ALL {
            current.extend(store::covering(conn, *duty, now)?.iter().map(|(s, u)| s.view(u)));
        }
        let mut gaps = store::gaps(conn, Duty::Operator, start, end)?;
        gaps.extend(store::gaps(conn, Duty::Coordinator, start, end)?);
        let view = RosterView {
            from: rome(start),
            to: rome(end),
            shifts: shifts.iter().map(|(s, u)| s.view(u)).collect(),
            now: current,
            gaps,
        };
        Ok((view, Event::new("roster.read")))
    })
    .await
}

/// Adds a shift (coordinators).
pub async fn add_shift(app: &App, caller: &Caller, input: ShiftInput) -> Result<ShiftView, AppError> {
    let shift = input.parse()?;
    let by = caller.user_id();
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        let row = store::insert(tx.conn, &shift, by, tx.caller().now)?;
        let user = users::get(tx.conn, row.user_id)?;
        tx.audit(Event::new("roster.shift_create").entity("shift", row.id))?;
        Ok(row.view(&user))
    })
    .await
}

/// Removes a shift (coordinators).
pub async fn remove_shift(app: &App, caller: &Caller, id: ShiftId) -> Result<(), AppError> {
    audit::write(app, caller, &[Cache::Directory], move |tx| {
        store::delete(tx.conn, id)?;
        tx.audit(Event::new("roster.shift_delete").entity("shift", id))
    })
    .await
}

/// The enabled crisis-unit staff a coordinator can put on the roster.
pub async fn staff(app: &App) -> Result<Vec<UserRow>, AppError> {
    app.db
        .read(|c| {
            Ok(users::list(c)?
                .into_iter()
                .map(|(u, _)| u)
                .filter(|u| !u.disabled && matches!(u.role, Role::Coordinator | Role::Operator | Role::Mediator))
                .collect())
        })
        .await
}
