//! Referral intake over HTTP at concurrency 1, 8 and 64: throughput and p50/p99 latency.
//!
//! `cargo bench --bench intake` (SQLite in a temporary folder); with
//! `VARCO_BENCH_DATABASE_URL=postgres://…` also PostgreSQL (a schema created and dropped here).
//! `VARCO_BENCH_REQUESTS` scales the run (default 2,000 per client level, at least 20,000 at c=64).
//! Each request is a referral from a CAS's system (bearer token, idempotency key), routed to the
//! operator on duty, audited and notified in one transaction; at the end the benchmark checks
//! that every acknowledged referral is in the database.

mod support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use varco::accounts::orgs::OrgInput;
use varco::accounts::users::NewUserInput;
use varco::clock::SystemClock;
use varco::config::Settings;
use varco::db::write_tx;
use varco::domain::{Caller, Role};
use varco::startup::Application;

// The same allocator as the service's binary (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Level {
    concurrency: usize,
    requests: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// Creates an organisation, its token and an operator on duty for the whole run.
fn prepare(app: &Application) -> String {
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
        let org = varco::accounts::orgs::insert(conn, &org, now)?;
        let op = NewUserInput {
            username: "bench.operator".into(),
            role: "operator".into(),
            password: "a long enough benchmark password".into(),
            email: Some("op@bench.example.org".into()),
            ..NewUserInput::default()
        }
        .parse()?;
        let op = varco::accounts::users::insert(conn, &op, "not-a-login-hash", now)?;
        let shift = varco::roster::model::NewShift {
            user_id: op.id,
            duty: varco::roster::Duty::Operator,
            mode: varco::roster::ShiftMode::OnDuty,
            starts_at: now - chrono::Duration::hours(1),
            ends_at: now + chrono::Duration::hours(47),
        };
        varco::roster::store::insert(conn, &shift, None, now)?;
        let (_, secret) = varco::accounts::tokens::create(conn, org.id, Role::Referrer, "benchmark", None, now)?;
        varco::audit::record(conn, &Caller::cli(now), varco::audit::Event::new("bench.prepare"))?;
        Ok(secret)
    })
    .expect("prepare")
}

async fn run_level(base: &str, token: &str, concurrency: usize, requests: usize, seq: &AtomicUsize) -> Level {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let left = Arc::new(AtomicUsize::new(requests));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, left, url, token) = (
            client.clone(),
            left.clone(),
            format!("{base}/api/v1/referrals"),
            token.to_owned(),
        );
        let first_key = seq.fetch_add(requests, Ordering::Relaxed);
        tasks.push(actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut n = 0usize;
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
                .is_ok()
            {
                n += 1;
                let body = json!({
                    "urgency": "ordinary",
                    "referrer_contact": "operatrice di turno",
                    "person": {"alias": "X", "gender": "female", "age": 24, "languages": ["en"], "hosted_org_id": 1},
                    "emergence_province": "VE",
                    "emergence_context": "cas_arrival",
                    "exploitation_types": ["sexual"],
                });
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .insert_header(("authorization", format!("Bearer {token}")))
                    .insert_header((
                        "idempotency-key",
                        format!("bench-{first_key}-{n}-{:?}", std::thread::current().id()),
                    ))
                    .send_json(&body)
                    .await;
                match res {
                    Ok(mut r) if r.status().as_u16() == 201 => {
                        let _ = r.body().await;
                        latencies.push(t.elapsed());
                    }
                    Ok(mut r) => {
                        let _ = r.body().await;
                        errors += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        all.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    Level {
        concurrency,
        requests: all.len(),
        seconds,
        p50: support::percentile(&all, 0.50),
        p99: support::percentile(&all, 0.99),
        errors,
    }
}

/// Watches the SQLite write-ahead log's file while the benchmark runs: its largest size (the
/// writer keeps it under `VARCO_SQLITE_WAL_LIMIT_MB`, see `db::writer`).
struct WalWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    largest: Arc<std::sync::atomic::AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl WalWatch {
    fn start(wal: std::path::PathBuf) -> WalWatch {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let largest = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (s, l) = (stop.clone(), largest.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                l.fetch_max(size, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        WalWatch { stop, largest, thread }
    }

    /// Stops watching; the largest size seen.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.largest.load(Ordering::Relaxed)
    }
}

fn bench_backend(name: &str, settings: Settings, scale: usize) {
    let wal = (!settings.is_postgres())
        .then(|| varco::db::files::sqlite_files(std::path::Path::new(&settings.database_url)).remove(1));
    let bound_mb = settings.sqlite_wal_limit_mb;
    actix_web::rt::System::new().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let app = Application::with_listener(settings, Arc::new(SystemClock), listener).expect("app");
        let base = format!("http://127.0.0.1:{}", app.port());
        let token = prepare(&app);
        let state = app.state.clone();
        actix_web::rt::spawn(app.run_until_stopped());
        let seq = AtomicUsize::new(0);
        // Warm-up: connections, caches, SQLite's WAL.
        run_level(&base, &token, 8, 500, &seq).await;
        let mut acknowledged = 500usize;
        println!("\n{name}: referral intake over HTTP (POST /api/v1/referrals, bearer token)");
        println!(
            "{:>11} {:>9} {:>10} {:>9} {:>9} {:>7}",
            "concurrency", "requests", "req/s", "p50 ms", "p99 ms", "errors"
        );
        for (c, n) in [(1, scale), (8, scale * 2), (64, (scale * 5).max(20_000))] {
            let watch = wal.clone().map(WalWatch::start);
            let l = run_level(&base, &token, c, n, &seq).await;
            acknowledged += l.requests;
            let largest = watch.map(WalWatch::stop);
            println!(
                "{:>11} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>7}{}",
                l.concurrency,
                l.requests,
                l.requests as f64 / l.seconds,
                l.p50.as_secs_f64() * 1000.0,
                l.p99.as_secs_f64() * 1000.0,
                l.errors,
                largest.map_or(String::new(), |b| format!(
                    "   largest WAL {:.1} MB (bound {bound_mb} MB)",
                    b as f64 / 1_048_576.0
                ))
            );
        }
        // Every acknowledged referral is stored (the 201 is sent after the commit).
        use diesel::prelude::*;
        use varco::db::schema::referrals;
        let mut conn = state.db.conn().expect("connection");
        let stored: i64 = referrals::table.count().get_result(&mut *conn).expect("count");
        println!(
            "acknowledged {acknowledged}, stored {stored}: {}",
            if stored as usize == acknowledged {
                "all durable"
            } else {
                "MISMATCH"
            }
        );
        assert_eq!(
            stored as usize, acknowledged,
            "every acknowledged referral must be stored"
        );
        actix_web::rt::System::current().stop();
    });
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let scale = support::env_number("VARCO_BENCH_REQUESTS", 2000);
    support::on_each_backend("intake", "intake", |name, settings| {
        bench_backend(name, settings, scale)
    });
}
