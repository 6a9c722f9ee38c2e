//! Shifts as stored, and who covers a duty at an instant.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{fits, Duty, Gap, NewShift, ShiftMode, ShiftView};
use crate::accounts::users::{self, UserCols, UserRow};
use crate::clock::rome;
use crate::db::schema::{shifts, users as users_t};
use crate::db::DbConn;
use crate::domain::{ShiftId, UserId};
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = shifts)]
pub struct ShiftRow {
    pub id: ShiftId,
    pub user_id: UserId,
    pub duty: Duty,
    pub mode: ShiftMode,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

impl ShiftRow {
    /// The shift as shown, with its person.
    pub fn view(&self, u: &UserRow) -> ShiftView {
        ShiftView {
            id: self.id.get(),
            user_id: self.user_id.get(),
            display_name: u.display_name.clone(),
            languages: u.languages.clone(),
            duty: self.duty,
            mode: self.mode,
            starts_at: rome(self.starts_at),
            ends_at: rome(self.ends_at),
        }
    }
}

/// Shifts with their people (and the languages they speak: one more query for all).
fn with_people(conn: &mut DbConn, rows: Vec<(ShiftRow, UserCols)>) -> Result<Vec<(ShiftRow, UserRow)>, AppError> {
    let (shifts, cols): (Vec<ShiftRow>, Vec<UserCols>) = rows.into_iter().unzip();
    Ok(shifts.into_iter().zip(users::with_languages(conn, cols)?).collect())
}

/// Adds a shift: the person must hold a role for the duty, be enabled, and not be on another
/// shift at the same time.
pub fn insert(
    conn: &mut DbConn,
    s: &NewShift,
    created_by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<ShiftRow, AppError> {
    let user = users::get(conn, s.user_id).map_err(|e| match e {
        AppError::NotFound => AppError::invalid("user_id", "no such user"),
        other => other,
    })?;
    if user.disabled {
        return Err(AppError::invalid("user_id", "the user is disabled"));
    }
    if !fits(s.duty, user.role) {
        return Err(AppError::invalid("duty", "the user's role does not cover this duty"));
    }
    let overlapping: i64 = shifts::table
        .filter(shifts::user_id.eq(s.user_id))
        .filter(shifts::starts_at.lt(s.ends_at))
        .filter(shifts::ends_at.gt(s.starts_at))
        .count()
        .get_result(conn)?;
    if overlapping > 0 {
        return Err(AppError::Conflict("the person already has a shift at that time".into()));
    }
    Ok(diesel::insert_into(shifts::table)
        .values((
            shifts::user_id.eq(s.user_id),
            shifts::duty.eq(s.duty),
            shifts::mode.eq(s.mode),
            shifts::starts_at.eq(s.starts_at),
            shifts::ends_at.eq(s.ends_at),
            shifts::created_by.eq(created_by),
            shifts::created_at.eq(now),
        ))
        .returning(crate::db::columns::<ShiftRow>())
        .get_result::<ShiftRow>(conn)?)
}

pub fn delete(conn: &mut DbConn, id: ShiftId) -> Result<(), AppError> {
    let n = diesel::delete(shifts::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Shifts overlapping `[from, to)`, with their people, by start.
pub fn between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(ShiftRow, UserRow)>, AppError> {
    let rows = shifts::table
        .inner_join(users_t::table)
        .filter(shifts::starts_at.lt(to))
        .filter(shifts::ends_at.gt(from))
        .select((ShiftRow::as_select(), UserCols::as_select()))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .load(conn)?;
    with_people(conn, rows)
}

/// Shifts still running or starting within a day of `at`, of enabled people: what the routing
/// directory keeps in memory.
pub fn upcoming(conn: &mut DbConn, at: NaiveDateTime) -> Result<Vec<(ShiftRow, UserRow)>, AppError> {
    let rows = shifts::table
        .inner_join(users_t::table)
        .filter(shifts::ends_at.gt(at))
        .filter(shifts::starts_at.lt(at + chrono::Duration::hours(24)))
        .filter(users_t::disabled.eq(false))
        .select((ShiftRow::as_select(), UserCols::as_select()))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .load(conn)?;
    with_people(conn, rows)
}

/// People covering `duty` at `at` (enabled accounts), those at the desk first.
pub fn covering(conn: &mut DbConn, duty: Duty, at: NaiveDateTime) -> Result<Vec<(ShiftRow, UserRow)>, AppError> {
    let rows = shifts::table
        .inner_join(users_t::table)
        .filter(shifts::duty.eq(duty))
        .filter(shifts::starts_at.le(at))
        .filter(shifts::ends_at.gt(at))
        .filter(users_t::disabled.eq(false))
        .select((ShiftRow::as_select(), UserCols::as_select()))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .load(conn)?;
    let mut rows = with_people(conn, rows)?;
    // Only someone who can open what they are routed (a shift left by a role change).
    rows.retain(|(_, u)| super::model::fits(duty, u.role));
    rows.sort_by_key(|(s, _)| s.mode != ShiftMode::OnDuty);
    Ok(rows)
}

/// A mediator on duty or on call now who speaks one of `languages` (Italian needs none).
pub fn pick_mediator(conn: &mut DbConn, at: NaiveDateTime, languages: &[String]) -> Result<Option<UserRow>, AppError> {
    let wanted: Vec<&String> = languages.iter().filter(|l| l.as_str() != "it").collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    Ok(covering(conn, Duty::Mediator, at)?
        .into_iter()
        .map(|(_, u)| u)
        .find(|u| u.languages.iter().any(|l| wanted.contains(&l))))
}

/// Coordinators on duty or on call now.
pub fn coordinators(conn: &mut DbConn, at: NaiveDateTime) -> Result<Vec<UserRow>, AppError> {
    Ok(covering(conn, Duty::Coordinator, at)?
        .into_iter()
        .map(|(_, u)| u)
        .collect())
}

/// Stretches of `[from, to)` where nobody covers `duty` (on duty or on call).
pub fn gaps(conn: &mut DbConn, duty: Duty, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<Gap>, AppError> {
    let mut spans: Vec<(NaiveDateTime, NaiveDateTime)> = shifts::table
        .inner_join(users_t::table)
        .filter(shifts::duty.eq(duty))
        .filter(shifts::starts_at.lt(to))
        .filter(shifts::ends_at.gt(from))
        .filter(users_t::disabled.eq(false))
        .select((shifts::starts_at, shifts::ends_at))
        .load(conn)?;
    spans.sort();
    let mut out = Vec::new();
    let mut cursor = from;
    for (s, e) in spans {
        if s > cursor {
            out.push(Gap {
                duty,
                from: rome(cursor),
                to: rome(s.min(to)),
            });
        }
        cursor = cursor.max(e);
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        out.push(Gap {
            duty,
            from: rome(cursor),
            to: rome(to),
        });
    }
    Ok(out)
}
