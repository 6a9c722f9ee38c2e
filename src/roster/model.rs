//! Shifts and their rules: what a shift covers, how long it may last, who may hold it.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::domain::duty::{fits, Duty};
use crate::domain::{parse_instant, UserId};
use crate::error::{AppError, FieldError};
use crate::vocabulary;

vocabulary! {
    ShiftMode ("shift_mode") {
        /// At the desk.
        OnDuty = "on_duty" => ("In servizio", "On duty"),
        /// Reachable by phone (*reperibilità*).
        OnCall = "on_call" => ("Reperibile", "On call"),
    }
}

/// Longest shift accepted (on-call periods can span a weekend night).
pub const MAX_SHIFT_HOURS: i64 = 48;

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
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
}

/// A stretch of time without anyone on a duty.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Gap {
    pub duty: Duty,
    /// Europe/Rome, RFC 3339.
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
}

/// The roster of a period: shifts, who covers each duty now, and the gaps to fill.
#[derive(Serialize, ToSchema)]
pub struct RosterView {
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    pub shifts: Vec<ShiftView>,
    /// On duty or on call right now, by duty.
    pub now: Vec<ShiftView>,
    /// Stretches with no operator or no coordinator.
    pub gaps: Vec<Gap>,
}

/// A new shift, checked.
pub struct NewShift {
    pub user_id: UserId,
    pub duty: Duty,
    pub mode: ShiftMode,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

/// Raw shift input from a form or JSON.
#[derive(Default)]
pub struct ShiftInput {
    pub user_id: Option<UserId>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

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

    #[test]
    fn duties_are_covered_by_the_right_roles() {
        assert!(fits(Duty::Operator, Role::Coordinator));
        assert!(!fits(Duty::Coordinator, Role::Operator));
        assert!(!fits(Duty::Mediator, Role::Referrer));
    }
}
