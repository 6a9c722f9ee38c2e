//! What the benchmarks share: a throw-away database on each backend, percentiles, numbers read
//! from the environment, plain SQL on either backend. `mod support;` in a benchmark.
#![allow(dead_code)]

use std::time::Duration;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use varco::accounts::orgs::OrgInput;
use varco::accounts::users::NewUserInput;
use varco::clock::SystemClock;
use varco::config::Settings;
use varco::db::{write_tx, DbConn};
use varco::domain::{Caller, UserId};
use varco::startup::Application;

/// The `p` quantile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A count from the environment (`VARCO_BENCH_…`), or its default.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Plain SQL (bulk inserts) on either backend.
pub fn batch(conn: &mut DbConn, sql: &str) {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute(sql),
        DbConn::Pg(c) => c.batch_execute(sql),
    }
    .expect("bulk SQL");
}

/// Prints the heading, then runs `bench` on SQLite (a temporary file; left out with
/// `VARCO_BENCH_ONLY=postgres`) and, when `VARCO_BENCH_DATABASE_URL` is set, on PostgreSQL in a
/// schema of its own, dropped afterwards.
pub fn on_each_backend(title: &str, tag: &str, mut bench: impl FnMut(&str, Settings)) {
    // One HTTP worker: on two cores the SQLite writer thread needs one, and the load generator
    // runs in the same process.
    let quiet = || Settings {
        bind: "127.0.0.1:0".into(),
        cookie_secure: false,
        workers: 1,
        ..Settings::default()
    };
    println!(
        "Varco {title} benchmark, {} ({} cores)",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    if !std::env::var("VARCO_BENCH_ONLY").is_ok_and(|v| v == "postgres") {
        let mut sqlite = quiet();
        sqlite.database_url = dir.path().join("bench.db").to_string_lossy().into_owned();
        sqlite.mail_dir = dir.path().join("mail").to_string_lossy().into_owned();
        sqlite.master_key_file = Some(dir.path().join("master.key").to_string_lossy().into_owned());
        bench("SQLite (synchronous=NORMAL, WAL)", sqlite);
    }
    match std::env::var("VARCO_BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        None => println!("\nPostgreSQL: skipped (set VARCO_BENCH_DATABASE_URL to run it)"),
        Some(base) => {
            let schema = format!("bench_{tag}_{}", std::process::id());
            let mut admin = diesel::PgConnection::establish(&base).expect("connect to PostgreSQL");
            admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("schema");
            let mut pg = quiet();
            let sep = if base.contains('?') { '&' } else { '?' };
            pg.database_url = format!("{base}{sep}options=-csearch_path%3D{schema}");
            pg.mail_dir = dir.path().join("mail-pg").to_string_lossy().into_owned();
            pg.master_key_file = Some(dir.path().join("master-pg.key").to_string_lossy().into_owned());
            bench("PostgreSQL 15 (local)", pg);
            admin
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .expect("drop schema");
        }
    }
}

/// A coordinator with a session; the session cookie.
pub fn coordinator(app: &Application) -> (UserId, String) {
    let state = &app.state;
    let mut conn = state.db.conn().expect("connection");
    let now = varco::clock::db_now(&SystemClock);
    write_tx(&mut conn, |conn| {
        let org = OrgInput {
            name: "CAS Benchmark".into(),
            kind: "cas".into(),
            province: Some("VE".into()),
            ..OrgInput::default()
        }
        .parse()?;
        varco::accounts::orgs::insert(conn, &org, now)?;
        let u = NewUserInput {
            username: "bench.coordinator".into(),
            role: "coordinator".into(),
            password: "a long enough benchmark password".into(),
            ..NewUserInput::default()
        }
        .parse()?;
        let u = varco::accounts::users::insert(conn, &u, "not-a-login-hash", now)?;
        let s = varco::auth::session::create(conn, u.id, now, &state.settings)?;
        varco::audit::record(conn, &Caller::cli(now), varco::audit::Event::new("bench.prepare"))?;
        Ok((u.id, s.cookie_value))
    })
    .expect("prepare")
}
