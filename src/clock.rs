//! Time as a dependency: the real clock in production, a settable one in tests.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, SubsecRound, Utc};
use chrono_tz::Tz;

/// Europe/Rome: every rule about hours, shifts and deadlines reasons in this zone.
pub const ROME: Tz = chrono_tz::Europe::Rome;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: for tests of expiry and deadlines.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Shared handle to the clock in use.
pub type SharedClock = Arc<dyn Clock>;

/// The instant as stored: UTC, microsecond precision (PostgreSQL's), no zone.
pub fn db_now(clock: &dyn Clock) -> NaiveDateTime {
    clock.now().trunc_subsecs(6).naive_utc()
}

/// Formats a stored UTC instant in Europe/Rome for people.
pub fn rome_display(at: NaiveDateTime) -> String {
    at.and_utc().with_timezone(&ROME).format("%d/%m/%Y %H:%M").to_string()
}

/// The time of day of a stored UTC instant in Europe/Rome (`HH:MM`).
pub fn rome_time(at: NaiveDateTime) -> String {
    at.and_utc().with_timezone(&ROME).format("%H:%M").to_string()
}

/// The end of the Europe/Rome day of `at` (the next local midnight), as stored UTC.
pub fn rome_end_of_day(at: NaiveDateTime) -> NaiveDateTime {
    use chrono::TimeZone;
    let local = at.and_utc().with_timezone(&ROME).date_naive();
    let next = local.succ_opt().unwrap_or(local);
    ROME.from_local_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|d| d.naive_utc())
        .unwrap_or(at + chrono::Duration::days(1))
}

/// A stored UTC instant as the value of a `datetime-local` input, in Europe/Rome.
pub fn rome_local_input(at: NaiveDateTime) -> String {
    at.and_utc().with_timezone(&ROME).format("%Y-%m-%dT%H:%M").to_string()
}

/// A stored UTC instant as Europe/Rome time with its offset: how the API sends instants
/// (RFC 3339, e.g. `2026-11-25T03:10:00+01:00`).
pub fn rome(at: NaiveDateTime) -> DateTime<FixedOffset> {
    at.and_utc().with_timezone(&ROME).fixed_offset()
}

/// A stored UTC instant as RFC 3339 text in Europe/Rome.
pub fn rome_rfc3339(at: NaiveDateTime) -> String {
    rome(at).to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rome_display_follows_daylight_saving() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 10, 23, 30, 0).unwrap().naive_utc();
        assert_eq!(rome_display(winter), "11/01/2026 00:30");
        let summer = Utc.with_ymd_and_hms(2026, 7, 10, 23, 30, 0).unwrap().naive_utc();
        assert_eq!(rome_display(summer), "11/07/2026 01:30");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(16));
        assert_eq!(clock.now() - start, Duration::minutes(16));
    }
}
