//! The case page (`GET /cases/{id}`, a coordinator's session) with 1,000,000 cases stored:
//! p50/p99 latency, on SQLite and (with `VARCO_BENCH_DATABASE_URL`) PostgreSQL.
//!
//! `cargo bench --bench casework`; `VARCO_BENCH_CASES` changes the number of cases stored
//! (default 1,000,000), `VARCO_BENCH_REQUESTS` the number of page reads (default 2,000).
//! The bulk of the cases is inserted with one SQL statement per table; the cases read are real
//! ones, opened by taking referrals in charge and given interviews, tasks, flags and notes.

mod support;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use varco::clock::SystemClock;
use varco::config::Settings;
use varco::domain::{Caller, CaseId, ReferralId, Role};
use varco::startup::Application;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Inserts `n` persons and `n` cases with plain SQL (the bulk the real cases are found among).
fn bulk(app: &Application, n: usize, postgres: bool) {
    let mut conn = app.state.db.conn().expect("connection");
    let sql = if postgres {
        format!(
            "INSERT INTO persons (created_at) SELECT now() FROM generate_series(1, {n});
             INSERT INTO cases (reference, person_id, status, opened_at, version, created_at, updated_at)
                 SELECT 'B-' || lpad(g::text, 8, '0'), g, CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'taken_in_charge' END,
                        now(), 1, now(), now() FROM generate_series(1, {n}) g;
             ANALYZE persons; ANALYZE cases;"
        )
    } else {
        format!(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {n})
                 INSERT INTO persons (created_at) SELECT '2026-01-01 00:00:00' FROM g;
             WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {n})
                 INSERT INTO cases (reference, person_id, status, opened_at, version, created_at, updated_at)
                 SELECT 'B-' || printf('%08d', x), x, CASE WHEN x % 3 = 0 THEN 'closed' ELSE 'taken_in_charge' END,
                        '2026-01-01 00:00:00', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM g;
             ANALYZE;"
        )
    };
    support::batch(&mut conn, &sql);
}

fn bench_backend(name: &str, settings: Settings, cases: usize, reads: usize) {
    let postgres = settings.is_postgres();
    actix_web::rt::System::new().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let app = Application::with_listener(settings, Arc::new(SystemClock), listener).expect("app");
        let base = format!("http://127.0.0.1:{}", app.port());
        let started = Instant::now();
        bulk(&app, cases, postgres);
        let seeded = started.elapsed();
        let (user, cookie) = support::coordinator(&app);
        let state = app.state.clone();
        actix_web::rt::spawn(app.run_until_stopped());
        // Real cases: referrals filed and taken in charge, with an interview, tasks, a flag, notes.
        let now = varco::clock::db_now(&SystemClock);
        let caller = Caller {
            actor: varco::domain::Actor::User {
                id: user,
                username: "bench.coordinator".into(),
                display_name: "Coordinamento".into(),
            },
            role: Some(Role::Coordinator),
            org_id: None,
            org_kind: None,
            ip: None,
            request_id: None,
            now,
        };
        let mut ids = Vec::new();
        for n in 0..20 {
            let input: varco::referrals::model::ReferralInput = serde_json::from_value(serde_json::json!({
                "channel": "hotline", "source_kind": "cas_operator", "referring_org_id": 1, "urgency": "ordinary",
                "person": {"alias": format!("Persona {n}"), "gender": "female", "age": 24, "languages": ["en"], "hosted_org_id": 1},
                "emergence_province": "VE", "exploitation_types": ["sexual"], "notes": "nota della segnalazione"
            }))
            .expect("input");
            let created = varco::referrals::service::create(&state, &caller, input, None).await.expect("referral");
            let rid: ReferralId = created.referral.id();
            let (_, case): (_, CaseId) =
                varco::casework::service::take_charge(&state, &caller, rid, created.referral.version()).await.expect("take charge");
            let interview = varco::casework::service::InterviewInput {
                starts_at: Some(format!("2030-01-{:02}T10:00", 1 + n % 28)),
                setting: Some(varco::casework::vocab::Setting::Cas),
                others: Some("operatrice del CAS".into()),
                ..Default::default()
            };
            varco::casework::service::plan_interview(&state, &caller, case, interview).await.expect("interview");
            for k in [varco::casework::vocab::TaskKind::CallBackReferrer, varco::casework::vocab::TaskKind::BookMediator] {
                varco::casework::service::add_task(&state, &caller, case, k, Some("nota".into()), now, None)
                    .await
                    .expect("task");
            }
            varco::casework::service::raise_flag(&state, &caller, case, varco::casework::vocab::FlagKind::RiskToStaff, "motivo".into())
                .await
                .expect("flag");
            for _ in 0..3 {
                varco::casework::service::add_note(&state, &caller, case, "nota di valutazione".into()).await.expect("note");
            }
            ids.push(case);
        }
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let get = |id: CaseId| {
            let client = client.clone();
            let (url, cookie) = (format!("{base}/cases/{}", id.get()), format!("varco_session={cookie}"));
            async move {
                let t = Instant::now();
                let mut r = client.get(&url).insert_header(("cookie", cookie)).send().await.expect("request");
                let body = r.body().limit(4 * 1024 * 1024).await.expect("body");
                assert_eq!(r.status().as_u16(), 200, "{}", String::from_utf8_lossy(&body));
                t.elapsed()
            }
        };
        for id in &ids {
            get(*id).await; // warm-up
        }
        let mut all = Vec::with_capacity(reads);
        for n in 0..reads {
            all.push(get(ids[n % ids.len()]).await);
        }
        all.sort();
        println!(
            "\n{name}: the case page with {cases} cases stored (seeded in {:.1} s)\n{:>9} {:>9} {:>9}\n{:>9} {:>9.2} {:>9.2}",
            seeded.as_secs_f64(),
            "reads",
            "p50 ms",
            "p99 ms",
            all.len(),
            support::percentile(&all, 0.50).as_secs_f64() * 1000.0,
            support::percentile(&all, 0.99).as_secs_f64() * 1000.0,
        );
        actix_web::rt::System::current().stop();
    });
}

fn main() {
    let cases = support::env_number("VARCO_BENCH_CASES", 1_000_000);
    let reads = support::env_number("VARCO_BENCH_REQUESTS", 2000);
    support::on_each_backend("casework", "case", |name, settings| {
        bench_backend(name, settings, cases, reads)
    });
}
