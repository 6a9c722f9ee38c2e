//! The availability board (`GET /api/v1/escape-points/board`, a coordinator's session) with 500
//! escape points and 10,000 open placements and holds: p50/p99 latency, on SQLite and (with
//! `VARCO_BENCH_DATABASE_URL`) PostgreSQL. Target: p99 under 10 ms.
//!
//! `cargo bench --bench placements`; `VARCO_BENCH_REQUESTS` sets the number of board reads
//! (default 2,000).

mod support;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use varco::clock::SystemClock;
use varco::config::Settings;
use varco::domain::UserId;
use varco::startup::Application;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POINTS: usize = 500;
const PLACEMENTS: usize = 10_000;

/// 488 points beside the twelve examples, one case, and 10,000 open placements and holds spread
/// over the 500 points, with plain SQL.
fn bulk(app: &Application, postgres: bool) {
    let mut conn = app.state.db.conn().expect("connection");
    let extra = POINTS - 12;
    let sql = if postgres {
        format!(
            "INSERT INTO escape_points (code, name, province, beds, family_rooms, takes_women, takes_men, takes_minors,
                 takes_children, takes_trans, accessible, contact_phone, status, example, version, created_at, updated_at)
                 SELECT 'B-' || g, 'Punto ' || g, CASE WHEN g % 2 = 0 THEN '082' ELSE '027' END, 30, 5, true, g % 2 = 0,
                        false, true, true, g % 3 = 0, '800 290 290', 'active', false, 1, now(), now()
                 FROM generate_series(1, {extra}) g;
             INSERT INTO escape_point_languages (point_id, language) SELECT id, 'it' FROM escape_points WHERE code LIKE 'B-%';
             INSERT INTO escape_point_languages (point_id, language) SELECT id, 'en' FROM escape_points WHERE code LIKE 'B-%' AND id % 2 = 0;
             INSERT INTO persons (created_at) VALUES (now());
             INSERT INTO cases (reference, person_id, status, opened_at, version, created_at, updated_at)
                 SELECT 'B-CASE', max(id), 'taken_in_charge', now(), 1, now(), now() FROM persons;
             INSERT INTO placements (case_id, point_id, kind, place_type, status, expires_at, version, created_at, updated_at)
                 SELECT (SELECT max(id) FROM cases), (SELECT min(id) FROM escape_points) + g % {POINTS}, 'emergency',
                        CASE WHEN g % 10 = 0 THEN 'family_room' ELSE 'bed' END,
                        CASE WHEN g % 3 = 0 THEN 'held' ELSE 'checked_in' END,
                        CASE WHEN g % 3 = 0 THEN now() + interval '1 day' END, 1, now(), now()
                 FROM generate_series(1, {PLACEMENTS}) g;
             ANALYZE escape_points; ANALYZE placements; ANALYZE escape_point_languages;"
        )
    } else {
        format!(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {extra})
                 INSERT INTO escape_points (code, name, province, beds, family_rooms, takes_women, takes_men, takes_minors,
                     takes_children, takes_trans, accessible, contact_phone, status, example, version, created_at, updated_at)
                 SELECT 'B-' || x, 'Punto ' || x, CASE WHEN x % 2 = 0 THEN '082' ELSE '027' END, 30, 5, 1, x % 2 = 0,
                        0, 1, 1, x % 3 = 0, '800 290 290', 'active', 0, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM g;
             INSERT INTO escape_point_languages (point_id, language) SELECT id, 'it' FROM escape_points WHERE code LIKE 'B-%';
             INSERT INTO escape_point_languages (point_id, language) SELECT id, 'en' FROM escape_points WHERE code LIKE 'B-%' AND id % 2 = 0;
             INSERT INTO persons (created_at) VALUES ('2026-01-01 00:00:00');
             INSERT INTO cases (reference, person_id, status, opened_at, version, created_at, updated_at)
                 SELECT 'B-CASE', max(id), 'taken_in_charge', '2026-01-01 00:00:00', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM persons;
             WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {PLACEMENTS})
                 INSERT INTO placements (case_id, point_id, kind, place_type, status, expires_at, version, created_at, updated_at)
                 SELECT (SELECT max(id) FROM cases), (SELECT min(id) FROM escape_points) + x % {POINTS}, 'emergency',
                        CASE WHEN x % 10 = 0 THEN 'family_room' ELSE 'bed' END,
                        CASE WHEN x % 3 = 0 THEN 'held' ELSE 'checked_in' END,
                        CASE WHEN x % 3 = 0 THEN '2099-01-01 00:00:00' END, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00'
                 FROM g;
             ANALYZE;"
        )
    };
    support::batch(&mut conn, &sql);
}

fn bench_backend(name: &str, settings: Settings, reads: usize) {
    let postgres = settings.is_postgres();
    actix_web::rt::System::new().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let app = Application::with_listener(settings, Arc::new(SystemClock), listener).expect("app");
        let base = format!("http://127.0.0.1:{}", app.port());
        bulk(&app, postgres);
        let (_user, cookie): (UserId, String) = support::coordinator(&app);
        actix_web::rt::spawn(app.run_until_stopped());
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let queries = [
            "gender=female&province=PA",
            "gender=male&language=en",
            "gender=female&children=true&accessible=true&province=VE",
        ];
        let get = |q: &str| {
            let client = client.clone();
            let (url, cookie) = (
                format!("{base}/api/v1/escape-points/board?{q}"),
                format!("varco_session={cookie}"),
            );
            async move {
                let t = Instant::now();
                let mut r = client.get(&url).insert_header(("cookie", cookie)).send().await.expect("request");
                let body = r.body().limit(16 * 1024 * 1024).await.expect("body");
                assert_eq!(r.status().as_u16(), 200, "{}", String::from_utf8_lossy(&body));
                t.elapsed()
            }
        };
        for q in queries {
            get(q).await; // warm-up
        }
        let mut all = Vec::with_capacity(reads);
        for n in 0..reads {
            all.push(get(queries[n % queries.len()]).await);
        }
        all.sort();
        println!(
            "\n{name}: the board with {POINTS} points and {PLACEMENTS} open placements\n{:>9} {:>9} {:>9}\n{:>9} {:>9.2} {:>9.2}",
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
    let reads = support::env_number("VARCO_BENCH_REQUESTS", 2000);
    support::on_each_backend("placements", "place", |name, settings| {
        bench_backend(name, settings, reads)
    });
}
