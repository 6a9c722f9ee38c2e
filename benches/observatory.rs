//! The observatory over a large register: tables (a yearly trend, a cross-table in persons, a
//! multi-valued indicator) over N referrals, and the CTDC record file written to nowhere while the
//! peak memory of the process is watched. SQLite, and PostgreSQL with `VARCO_BENCH_DATABASE_URL`.
//! Target: any table under 1 s over 1,000,000 referrals; the record file in constant memory.
//!
//! `cargo bench --bench observatory`; `VARCO_BENCH_REFERRALS` sets N (default 1,000,000).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use varco::clock::SystemClock;
use varco::config::Settings;
use varco::observatory::export::Csv;
use varco::observatory::model::{Indicator, Measure, Period, Spec, Territory, TerritoryBasis};
use varco::observatory::{service, store};
use varco::startup::Application;

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The process's peak resident memory (Linux), in MB.
fn peak_mb() -> f64 {
    status_mb("VmHWM:")
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// N referrals over 2014–2023 with plain SQL: genders, sources, provinces, citizenships spread by
/// the row number; a third with an exploitation type, one in ten linked to a person (two referrals
/// each).
fn bulk(app: &Application, n: usize, postgres: bool) {
    let mut conn = app.state.db.conn().expect("connection");
    let cols = "reference, status, channel, source_kind, received_at, urgency, person_gender, person_age_band, person_minor, \
                emergence_province, exploitation_province, person_citizenship, person_age_broad, version, created_at, updated_at";
    let row = |x: &str, ts: &str| {
        format!(
            "'B-' || {x}, CASE WHEN {x} % 10 = 0 THEN 'declined' ELSE 'new' END, \
             CASE {x} % 3 WHEN 0 THEN 'hotline' WHEN 1 THEN 'email' ELSE 'in_person' END, \
             CASE {x} % 6 WHEN 0 THEN 'cas_operator' WHEN 1 THEN 'prefecture' WHEN 2 THEN 'police' WHEN 3 THEN 'sai_operator' WHEN 4 THEN 'street_unit' ELSE 'labour' END, \
             {ts}, 'ordinary', CASE {x} % 5 WHEN 0 THEN 'male' WHEN 1 THEN 'trans' ELSE 'female' END, '18-24', {x} % 17 = 0, \
             CASE {x} % 4 WHEN 0 THEN '027' WHEN 1 THEN '028' WHEN 2 THEN '082' ELSE '058' END, NULL, \
             CASE {x} % 7 WHEN 0 THEN 'MA' WHEN 1 THEN 'PK' ELSE 'NG' END, '18--20', 1, {ts}, {ts}"
        )
    };
    let sql = if postgres {
        format!(
            "INSERT INTO referrals ({cols}) SELECT {} FROM generate_series(1, {n}) g;
             INSERT INTO referral_exploitation (referral_id, exploitation) SELECT id, 'sexual' FROM referrals WHERE id % 3 = 0;
             INSERT INTO persons (created_at) SELECT now() FROM generate_series(1, {p});
             INSERT INTO referral_persons (referral_id, person_id, linked_at)
                 SELECT r.id, (SELECT min(id) FROM persons) + (r.id / 20), now() FROM referrals r WHERE r.id % 10 = 0 AND r.id / 20 < {p};
             ANALYZE;",
            row("g", "timestamp '2014-01-01 08:00:00' + (g % 3650) * interval '1 day'"),
            p = n / 20
        )
    } else {
        format!(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {n})
                 INSERT INTO referrals ({cols}) SELECT {} FROM g;
             INSERT INTO referral_exploitation (referral_id, exploitation) SELECT id, 'sexual' FROM referrals WHERE id % 3 = 0;
             WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {p})
                 INSERT INTO persons (created_at) SELECT '2026-01-01 00:00:00' FROM g;
             INSERT INTO referral_persons (referral_id, person_id, linked_at)
                 SELECT r.id, (SELECT min(id) FROM persons) + (r.id / 20), '2026-01-01 00:00:00' FROM referrals r WHERE r.id % 10 = 0 AND r.id / 20 < {p};
             ANALYZE;",
            row("x", "datetime('2014-01-01 08:00:00', '+' || (x % 3650) || ' days')"),
            p = n / 20
        )
    };
    support::batch(&mut conn, &sql);
    // A register in service is vacuumed by autovacuum; after a bulk load, do it now so that
    // PostgreSQL can answer from the observatory's index alone.
    if let varco::db::DbConn::Pg(c) = &mut *conn {
        c.batch_execute("VACUUM ANALYZE referrals").expect("vacuum");
    }
}

/// The process's resident memory now (Linux), in MB.
fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// Starts measuring the peak anew (Linux 4.0+: writing 5 to `clear_refs` resets `VmHWM`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn bench_backend(name: &str, settings: Settings, n: usize) {
    let postgres = settings.is_postgres();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = actix_web::rt::System::new()
        .block_on(async { Application::with_listener(settings, Arc::new(SystemClock), listener) })
        .expect("app");
    let t = Instant::now();
    bulk(&app, n, postgres);
    println!("\n{name}: {n} referrals inserted in {:.1} s", t.elapsed().as_secs_f64());
    let period = Period::new(
        NaiveDate::from_ymd_opt(2014, 1, 1).expect("day"),
        NaiveDate::from_ymd_opt(2023, 12, 31).expect("day"),
    )
    .expect("period");
    let spec = |measure, rows, cols| Spec {
        measure,
        rows,
        cols,
        period,
        territory: Territory::National,
        basis: TerritoryBasis::Emergence,
    };
    let mut conn = app.state.db.conn().expect("connection");
    println!("{:<58} {:>9} {:>9}", "table", "total", "ms");
    for (label, s) in [
        (
            "referrals: year × international protection",
            spec(
                Measure::Referrals,
                Some(Indicator::Year),
                Some(Indicator::InternationalProtection),
            ),
        ),
        (
            "referrals: month × gender",
            spec(Measure::Referrals, Some(Indicator::Month), Some(Indicator::Gender)),
        ),
        (
            "referrals: region of emergence × source",
            spec(
                Measure::Referrals,
                Some(Indicator::EmergenceRegion),
                Some(Indicator::SourceKind),
            ),
        ),
        (
            "persons: gender × citizenship",
            spec(Measure::Persons, Some(Indicator::Gender), Some(Indicator::Citizenship)),
        ),
        (
            "referrals: month × status, Veneto only",
            Spec {
                territory: Territory::Region(varco::domain::territory::Region::by_code("05").expect("Veneto")),
                ..spec(Measure::Referrals, Some(Indicator::Month), Some(Indicator::Status))
            },
        ),
        ("persons: year", spec(Measure::Persons, Some(Indicator::Year), None)),
        (
            "referrals: exploitation type (multi-valued) × quarter",
            spec(
                Measure::Referrals,
                Some(Indicator::ExploitationType),
                Some(Indicator::Quarter),
            ),
        ),
    ] {
        let t = Instant::now();
        let table = store::table(&mut conn, &s).expect("table");
        let published = varco::observatory::disclosure::publish(&table, Some(5));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(published.total.is_some());
        println!("{label:<58} {:>9} {:>9.0}", table.total, ms);
    }
    // What an analyst gets: disclosure control across tables, periods and territories (every
    // year's seventeen blocks protected together; a territory dimension at both levels).
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).expect("day");
    println!(
        "{:<58} {:>9} {:>9}",
        "analyst's table (disclosure-controlled)", "withheld", "ms"
    );
    for (label, s) in [
        (
            "referrals: gender × source, 2014–2023",
            spec(Measure::Referrals, Some(Indicator::Gender), Some(Indicator::SourceKind)),
        ),
        (
            "referrals: region of emergence × gender, 2014–2023",
            spec(
                Measure::Referrals,
                Some(Indicator::EmergenceRegion),
                Some(Indicator::Gender),
            ),
        ),
        (
            "persons: gender × citizenship, 2014–2023",
            spec(Measure::Persons, Some(Indicator::Gender), Some(Indicator::Citizenship)),
        ),
        (
            "referrals: year × international protection, 2014–2023",
            spec(
                Measure::Referrals,
                Some(Indicator::Year),
                Some(Indicator::InternationalProtection),
            ),
        ),
        (
            "referrals: month × gender, 2014–2023 (120 months)",
            spec(Measure::Referrals, Some(Indicator::Month), Some(Indicator::Gender)),
        ),
        (
            "persons: quarter × citizenship, 2014–2023",
            spec(Measure::Persons, Some(Indicator::Quarter), Some(Indicator::Citizenship)),
        ),
        (
            "referrals: gender, Veneto, March 2018",
            Spec {
                territory: Territory::Region(varco::domain::territory::Region::by_code("05").expect("Veneto")),
                period: Period::new(
                    NaiveDate::from_ymd_opt(2018, 3, 1).expect("day"),
                    NaiveDate::from_ymd_opt(2018, 3, 31).expect("day"),
                )
                .expect("period"),
                ..spec(Measure::Referrals, Some(Indicator::Gender), None)
            },
        ),
    ] {
        let t = Instant::now();
        let (_, published) = varco::observatory::release::analyst_table(&mut conn, &s, 5, today).expect("analyst");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        println!("{label:<58} {:>9} {:>9.0}", published.primary + published.secondary, ms);
    }
    // The record file twice, over one year and over the whole register (ten times the records):
    // in constant memory, the growth of the peak over what was resident before is the same.
    let year = Period::new(
        NaiveDate::from_ymd_opt(2018, 1, 1).expect("day"),
        NaiveDate::from_ymd_opt(2018, 12, 31).expect("day"),
    )
    .expect("period");
    for p in [year, period] {
        let before = rss_mb();
        reset_peak();
        let t = Instant::now();
        let mut written = 0usize;
        let stmt = service::write_records(
            &mut conn,
            (&p, Territory::National, TerritoryBasis::Emergence),
            11,
            Csv::Plain,
            &mut std::io::sink(),
            &mut |_| written += 1,
        )
        .expect("records");
        println!(
            "CTDC file {}–{}: {} records read twice, {} written, {} dropped, in {:.1} s; resident {:.0} MB before, peak {:+.1} MB during",
            p.from.format("%Y"),
            p.to.format("%Y"),
            stmt.records,
            stmt.records - stmt.dropped,
            stmt.dropped,
            t.elapsed().as_secs_f64(),
            before,
            peak_mb() - before
        );
    }
}

fn main() {
    let n = support::env_number("VARCO_BENCH_REFERRALS", 1_000_000);
    support::on_each_backend("observatory", "obs", |name, settings| bench_backend(name, settings, n));
}
