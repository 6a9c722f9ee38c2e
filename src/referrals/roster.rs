//! The crisis unit's 24/7 roster (*reperibilità*): shifts of operators, coordinators and mediators,
//! who is on duty at an instant, and the gaps a coordinator must fill in advance.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::vocab::{Duty, ShiftMode};
use crate::accounts::users::{self, UserRow};
use crate::clock::{rome_rfc3339, ROME};
use crate::db::schema::{shifts, users as users_t};
use crate::db::DbConn;
use crate::domain::Role;
use crate::error::{AppError, FieldError};

/// Longest shift accepted (on-call periods can span a weekend night).
pub const MAX_SHIFT_HOURS: i64 = 48;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = shifts)]
pub struct ShiftRow {
    pub id: i64,
    pub user_id: i64,
    pub duty: String,
    pub mode: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl ShiftRow {
    pub fn duty(&self) -> Duty {
        Duty::parse(&self.duty).unwrap_or(Duty::Operator)
    }

    pub fn mode(&self) -> ShiftMode {
        ShiftMode::parse(&self.mode).unwrap_or(ShiftMode::OnCall)
    }
}

/// A shift as shown: with the person's display name and languages (work data).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShiftView {
    pub id: i64,
    pub user_id: i64,
    pub display_name: String,
    pub languages: Vec<String>,
    pub duty: Duty,
    pub mode: ShiftMode,
    /// Europe/Rome, RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
}

impl ShiftView {
    pub fn new(s: &ShiftRow, u: &UserRow) -> ShiftView {
        ShiftView {
            id: s.id,
            user_id: s.user_id,
            display_name: u.display_name.clone(),
            languages: u.language_list(),
            duty: s.duty(),
            mode: s.mode(),
            starts_at: rome_rfc3339(s.starts_at),
            ends_at: rome_rfc3339(s.ends_at),
        }
    }
}

/// A stretch of time without anyone on a duty.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Gap {
    pub duty: Duty,
    /// Europe/Rome, RFC 3339.
    pub from: String,
    pub to: String,
}

/// An instant typed by a person: RFC 3339 with an offset, or a Europe/Rome wall-clock time
/// (`2026-11-25T20:00`, also with seconds or a space). Stored as UTC.
pub fn parse_instant(input: &str) -> Option<NaiveDateTime> {
    let s = input.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    let local = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
    // In the autumn hour that happens twice, the first one; in the spring gap, none.
    ROME.from_local_datetime(&local).earliest().map(|t| t.naive_utc())
}

/// A new shift, checked.
pub struct NewShift {
    pub user_id: i64,
    pub duty: Duty,
    pub mode: ShiftMode,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

/// Raw shift input from a form or JSON.
#[derive(Default)]
pub struct ShiftInput {
    pub user_id: Option<i64>,
    pub duty: String,
    pub mode: String,
    pub starts_at: String,
    pub ends_at: String,
}

impl ShiftInput {
    pub fn parse(&self) -> Result<NewShift, AppError> {
        let mut errors = Vec::new();
        if self.user_id.is_none() {
            errors.push(FieldError::new("user_id", "is required"));
        }
        let duty = Duty::parse(&self.duty);
        if duty.is_none() {
            errors.push(FieldError::new("duty", "must be operator, coordinator or mediator"));
        }
        let mode = ShiftMode::parse(&self.mode);
        if mode.is_none() {
            errors.push(FieldError::new("mode", "must be on_duty or on_call"));
        }
        let starts = parse_instant(&self.starts_at);
        if starts.is_none() {
            errors.push(FieldError::new(
                "starts_at",
                "must be a date and time, e.g. 2026-11-25T20:00",
            ));
        }
        let ends = parse_instant(&self.ends_at);
        if ends.is_none() {
            errors.push(FieldError::new(
                "ends_at",
                "must be a date and time, e.g. 2026-11-26T08:00",
            ));
        }
        if let (Some(s), Some(e)) = (starts, ends) {
            if e <= s {
                errors.push(FieldError::new("ends_at", "must be after the start"));
            } else if e - s > Duration::hours(MAX_SHIFT_HOURS) {
                errors.push(FieldError::new("ends_at", "a shift lasts at most 48 hours"));
            }
        }
        match (self.user_id, duty, mode, starts, ends) {
            (Some(user_id), Some(duty), Some(mode), Some(starts_at), Some(ends_at)) if errors.is_empty() => {
                Ok(NewShift {
                    user_id,
                    duty,
                    mode,
                    starts_at,
                    ends_at,
                })
            }
            _ => Err(AppError::Invalid(errors)),
        }
    }
}

/// The roles that may cover a duty.
fn fits(duty: Duty, role: Role) -> bool {
    match duty {
        Duty::Operator => matches!(role, Role::Operator | Role::Coordinator),
        Duty::Coordinator => role == Role::Coordinator,
        Duty::Mediator => role == Role::Mediator,
    }
}

/// Adds a shift: the person must hold a role for the duty, be enabled, and not be on another
/// shift at the same time.
pub fn insert(
    conn: &mut DbConn,
    s: &NewShift,
    created_by: Option<i64>,
    now: NaiveDateTime,
) -> Result<ShiftRow, AppError> {
    let user = users::get(conn, s.user_id).map_err(|e| match e {
        AppError::NotFound => AppError::invalid("user_id", "no such user"),
        other => other,
    })?;
    if user.disabled {
        return Err(AppError::invalid("user_id", "the user is disabled"));
    }
    if !fits(s.duty, user.role()) {
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
    let id: i64 = diesel::insert_into(shifts::table)
        .values((
            shifts::user_id.eq(s.user_id),
            shifts::duty.eq(s.duty.as_str()),
            shifts::mode.eq(s.mode.as_str()),
            shifts::starts_at.eq(s.starts_at),
            shifts::ends_at.eq(s.ends_at),
            shifts::created_by.eq(created_by),
            shifts::created_at.eq(now),
        ))
        .returning(shifts::id)
        .get_result(conn)?;
    Ok(shifts::table.find(id).select(ShiftRow::as_select()).first(conn)?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), AppError> {
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
    Ok(shifts::table
        .inner_join(users_t::table)
        .filter(shifts::starts_at.lt(to))
        .filter(shifts::ends_at.gt(from))
        .select((ShiftRow::as_select(), UserRow::as_select()))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .load(conn)?)
}

/// People covering `duty` at `at` (enabled accounts), those at the desk first.
pub fn covering(conn: &mut DbConn, duty: Duty, at: NaiveDateTime) -> Result<Vec<(ShiftRow, UserRow)>, AppError> {
    let mut rows: Vec<(ShiftRow, UserRow)> = shifts::table
        .inner_join(users_t::table)
        .filter(shifts::duty.eq(duty.as_str()))
        .filter(shifts::starts_at.le(at))
        .filter(shifts::ends_at.gt(at))
        .filter(users_t::disabled.eq(false))
        .select((ShiftRow::as_select(), UserRow::as_select()))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .load(conn)?;
    rows.sort_by_key(|(s, _)| s.mode() != ShiftMode::OnDuty);
    Ok(rows)
}

/// The operator to assign a new referral to: on duty now, with the fewest referrals still
/// waiting on them (so that a long night is shared).
pub fn pick_operator(conn: &mut DbConn, at: NaiveDateTime) -> Result<Option<UserRow>, AppError> {
    use crate::db::schema::referrals;
    let candidates = covering(conn, Duty::Operator, at)?;
    if candidates.len() <= 1 {
        return Ok(candidates.into_iter().next().map(|(_, u)| u));
    }
    let mut best: Option<(i64, bool, UserRow)> = None;
    for (shift, user) in candidates {
        let open: i64 = referrals::table
            .filter(referrals::assigned_operator_id.eq(user.id))
            .filter(referrals::status.eq("new"))
            .count()
            .get_result(conn)?;
        let on_call = shift.mode() != ShiftMode::OnDuty;
        let better = match &best {
            None => true,
            Some((n, c, _)) => (on_call, open) < (*c, *n),
        };
        if better {
            best = Some((open, on_call, user));
        }
    }
    Ok(best.map(|(_, _, u)| u))
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
        .find(|u| u.language_list().iter().any(|l| wanted.contains(&l))))
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
        .filter(shifts::duty.eq(duty.as_str()))
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
                from: rome_rfc3339(cursor),
                to: rome_rfc3339(s.min(to)),
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
            from: rome_rfc3339(cursor),
            to: rome_rfc3339(to),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_as_rome_time_unless_they_carry_an_offset() {
        let winter = parse_instant("2026-01-10T20:00").expect("parse");
        assert_eq!(winter.to_string(), "2026-01-10 19:00:00");
        let summer = parse_instant("2026-07-10 20:00").expect("parse");
        assert_eq!(summer.to_string(), "2026-07-10 18:00:00");
        let explicit = parse_instant("2026-07-10T20:00:00Z").expect("parse");
        assert_eq!(explicit.to_string(), "2026-07-10 20:00:00");
        assert!(parse_instant("tomorrow").is_none());
        // 02:30 on the last Sunday of March does not exist in Rome.
        assert!(parse_instant("2026-03-29T02:30").is_none());
    }

    #[test]
    fn shift_input_reports_every_problem() {
        let e = ShiftInput {
            user_id: None,
            duty: "chef".into(),
            mode: "on_duty".into(),
            starts_at: "2026-11-25T20:00".into(),
            ends_at: "2026-11-25T19:00".into(),
        }
        .parse()
        .err()
        .expect("invalid");
        let fields: Vec<_> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["user_id", "duty", "ends_at"]);
    }
}
