//! Rome wall-clock time as people type it, and the range of dates Varco accepts.
//!
//! Instants are stored in UTC and reasoned about in Europe/Rome. Dates far from today are
//! refused before they reach arithmetic (which would overflow) or PostgreSQL (which refuses
//! years beyond its range): Varco records events of living people, not of geological ages.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use crate::clock::ROME;

/// Earliest date accepted in any input.
pub const MIN_YEAR: i32 = 1900;
/// Latest date accepted in any input.
pub const MAX_YEAR: i32 = 2200;

/// True when a date lies in the range Varco accepts.
pub fn date_in_range(d: NaiveDate) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&d.year())
}

/// The message for a date out of range (a field error's text).
pub const OUT_OF_RANGE: &str = "must be a date between the years 1900 and 2200";

/// An instant typed by a person: RFC 3339 with an offset, or a Europe/Rome wall-clock time
/// (`2026-11-25T20:00`, also with seconds or a space). Stored as UTC. `None` when it is not one,
/// or lies outside the accepted years.
pub fn parse_instant(input: &str) -> Option<NaiveDateTime> {
    let s = input.trim();
    let at = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.naive_utc()
    } else {
        let local = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
        // In the autumn hour that happens twice, the first one; in the spring gap, none.
        ROME.from_local_datetime(&local).earliest()?.naive_utc()
    };
    date_in_range(at.date()).then_some(at)
}

/// The UTC instant at which a Europe/Rome calendar day begins (`None` outside the accepted years).
pub fn rome_day_start(d: NaiveDate) -> Option<NaiveDateTime> {
    if !date_in_range(d) {
        return None;
    }
    let local = d.and_time(NaiveTime::MIN);
    // Midnight exists on every Rome day (the clocks change at 02:00 and 03:00).
    ROME.from_local_datetime(&local).earliest().map(|t| t.naive_utc())
}

/// The day after `d`, or `None` past the accepted years.
pub fn next_day(d: NaiveDate) -> Option<NaiveDate> {
    d.succ_opt().filter(|n| date_in_range(*n))
}

/// `d` plus `days` days, or `None` past the accepted years.
pub fn add_days(d: NaiveDate, days: i64) -> Option<NaiveDate> {
    let days = u64::try_from(days).ok()?;
    d.checked_add_days(chrono::Days::new(days))
        .filter(|n| date_in_range(*n))
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
    fn far_dates_are_refused_instead_of_overflowing() {
        assert!(parse_instant("+262142-12-31T10:00").is_none());
        assert!(parse_instant("0001-01-01T00:00:00Z").is_none());
        let far = NaiveDate::from_ymd_opt(262_142, 12, 31).expect("date");
        assert_eq!(rome_day_start(far), None);
        assert_eq!(next_day(NaiveDate::MAX), None);
        assert_eq!(add_days(NaiveDate::from_ymd_opt(2200, 12, 31).expect("date"), 1), None);
        assert_eq!(add_days(NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"), -1), None);
        assert!(rome_day_start(NaiveDate::from_ymd_opt(2026, 3, 29).expect("date")).is_some());
    }
}
