//! Candidates for a referral among many stored persons: p50/p99 of the search.
//!
//! `cargo bench --bench matching` (SQLite in a temporary folder); with
//! `VARCO_BENCH_DATABASE_URL=postgres://…` also PostgreSQL (a schema created and dropped here).
//! `VARCO_BENCH_PERSONS` sets how many persons are stored (default 1,000,000), each with one
//! referral, its sealed alias, its languages and its blind indexes, written in bulk (batched
//! inserts: the intake path would take hours). Then `persons::store::candidates` (the index
//! query, scoring of up to 200 referrals sharing an alias index, the proposals' aliases opened)
//! runs for `VARCO_BENCH_QUERIES` referrals picked at random (default 500), on one connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use varco::clock::SystemClock;
use varco::config::Settings;
use varco::crypto::match_index;
use varco::db::schema::{
    persons, referral_blind, referral_languages, referral_people, referral_persons, referral_routing, referrals,
};
use varco::db::{write_tx, Db, DbConn};
use varco::domain::names::MatchTerms;
use varco::domain::ReferralId;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

const ONSETS: &[&str] = &[
    "", "b", "ch", "d", "f", "g", "j", "k", "l", "m", "n", "ng", "p", "r", "s", "sh", "t", "v", "z", "kh", "y", "w",
    "br", "gr", "tr", "pr", "bl", "kr",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ia", "ou", "ei", "y"];
const CODAS: &[&str] = &["", "", "", "n", "m", "s", "r", "l", "k", "t"];
const NATIONALITIES: &[(&str, u32)] = &[
    ("Nigeria", 30),
    ("Ucraina", 8),
    ("Romania", 8),
    ("Albania", 5),
    ("Moldova", 4),
    ("Cina", 5),
    ("Marocco", 5),
    ("Pakistan", 5),
    ("Bangladesh", 4),
    ("Costa d'Avorio", 4),
    ("Ghana", 4),
    ("Senegal", 4),
    ("Gambia", 3),
    ("Eritrea", 3),
    ("Brasile", 3),
    ("Colombia", 2),
    ("Bulgaria", 3),
    ("Tunisia", 3),
];
const LANGUAGES: &[&str] = &[
    "en", "pcm", "edo", "uk", "ru", "ro", "sq", "zh", "ar", "ur", "bn", "fr", "wo", "ti",
];

/// A made-up word of 2–3 syllables (names from a pool of tens of thousands).
fn word(rng: &mut impl Rng) -> String {
    let n = rng.gen_range(2..=3);
    let mut w = String::new();
    for i in 0..n {
        w.push_str(ONSETS[rng.gen_range(0..ONSETS.len())]);
        w.push_str(VOWELS[rng.gen_range(0..VOWELS.len())]);
        if i == n - 1 {
            w.push_str(CODAS[rng.gen_range(0..CODAS.len())]);
        }
    }
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn nationality(rng: &mut impl Rng) -> &'static str {
    let total: u32 = NATIONALITIES.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (n, w) in NATIONALITIES {
        if pick < *w {
            return n;
        }
        pick -= w;
    }
    NATIONALITIES[0].0
}

/// Stores `n` persons with a referral each, in batches; returns the referral ids.
fn seed(db: &Db, keys: &varco::crypto::Keyring, n: usize) -> Vec<ReferralId> {
    let mut conn = db.conn().expect("connection");
    let now = varco::clock::db_now(&SystemClock);
    let indexer = write_tx(&mut conn, |c| match_index::indexer(c, keys, now)).expect("indexer");
    let (key_id, key) = write_tx(&mut conn, |c| varco::crypto::store::create(c, keys, now)).expect("data key");
    let org: i64 = write_tx(&mut conn, |c| {
        let org = varco::accounts::orgs::OrgInput {
            name: "CAS Benchmark".into(),
            kind: "cas".into(),
            province: Some("VE".into()),
            ..Default::default()
        }
        .parse()?;
        Ok(varco::accounts::orgs::insert(c, &org, now)?.id.get())
    })
    .expect("org");
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let given: Vec<String> = (0..4000).map(|_| word(&mut rng)).collect();
    let family: Vec<String> = (0..40_000).map(|_| word(&mut rng)).collect();
    let provinces = ["027", "028", "023", "026", "024", "025", "029"];
    let first_id = 1_000_000_i64;
    let batch = 2000usize;
    let mut ids = Vec::with_capacity(n);
    let started = Instant::now();
    let mut done = 0usize;
    while done < n {
        let size = batch.min(n - done);
        let mut refs = Vec::with_capacity(size);
        let mut batch_ids = Vec::with_capacity(size);
        let mut people = Vec::with_capacity(size);
        let mut langs = Vec::new();
        let mut blind = Vec::new();
        for i in 0..size {
            let id = first_id + (done + i) as i64;
            let alias = format!(
                "{} {}",
                given[rng.gen_range(0..given.len())],
                family[rng.gen_range(0..family.len())]
            );
            let age: i32 = rng.gen_range(16..60);
            let nat = nationality(&mut rng);
            let received = now - chrono::Duration::days(rng.gen_range(0..3650));
            let gender = if rng.gen_bool(0.85) { "female" } else { "male" };
            refs.push((
                referrals::id.eq(id),
                referrals::reference.eq(format!("R-B{id:08}")),
                referrals::status.eq("in_charge"),
                referrals::channel.eq("hotline"),
                referrals::source_kind.eq("cas_operator"),
                referrals::received_at.eq(received),
                referrals::urgency.eq("ordinary"),
                referrals::person_gender.eq(gender),
                referrals::person_minor.eq(false),
                referrals::hosted_org_id.eq(Some(org)),
                referrals::emergence_province.eq(Some(provinces[rng.gen_range(0..provinces.len())])),
                referrals::data_key_id.eq(Some(key_id.get())),
                referrals::version.eq(1_i64),
                referrals::created_at.eq(received),
                referrals::updated_at.eq(received),
            ));
            people.push((
                referral_people::referral_id.eq(id),
                referral_people::alias.eq(Some(key.seal_str("person.alias", &alias))),
            ));
            langs.push((
                referral_languages::referral_id.eq(id),
                referral_languages::language.eq(LANGUAGES[rng.gen_range(0..LANGUAGES.len())]),
            ));
            let terms = MatchTerms::of(Some(&alias), Some(age), Some(nat), received);
            let mut seen = std::collections::HashSet::new();
            for (purpose, token) in match_index::tokens(&indexer, &terms) {
                if seen.insert((purpose, token)) {
                    blind.push((
                        referral_blind::referral_id.eq(id),
                        referral_blind::purpose.eq(purpose),
                        referral_blind::token.eq(token),
                    ));
                }
            }
            ids.push(ReferralId(id));
            batch_ids.push(id);
        }
        let routing: Vec<_> = batch_ids
            .iter()
            .map(|id| referral_routing::referral_id.eq(*id))
            .collect();
        let persons_rows: Vec<_> = batch_ids
            .iter()
            .map(|id| (persons::id.eq(*id), persons::created_at.eq(now)))
            .collect();
        let links: Vec<_> = batch_ids
            .iter()
            .map(|id| {
                (
                    referral_persons::referral_id.eq(*id),
                    referral_persons::person_id.eq(*id),
                    referral_persons::linked_at.eq(now),
                )
            })
            .collect();
        write_tx(&mut conn, |c| {
            varco::on_backend!(c, |c| {
                diesel::insert_into(referrals::table).values(&refs).execute(c)?;
                diesel::insert_into(referral_routing::table)
                    .values(&routing)
                    .execute(c)?;
                diesel::insert_into(referral_people::table).values(&people).execute(c)?;
                diesel::insert_into(referral_languages::table)
                    .values(&langs)
                    .execute(c)?;
                diesel::insert_into(persons::table).values(&persons_rows).execute(c)?;
                diesel::insert_into(referral_persons::table).values(&links).execute(c)?;
                for chunk in blind.chunks(5000) {
                    diesel::insert_into(referral_blind::table).values(chunk).execute(c)?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
            Ok(())
        })
        .expect("batch");
        done += size;
        if done.is_multiple_of(100_000) || done == n {
            eprintln!("  seeded {done} persons in {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    if let DbConn::Pg(c) = &mut *conn {
        c.batch_execute(
            "SELECT setval(pg_get_serial_sequence('referrals', 'id'), (SELECT max(id) FROM referrals));
             SELECT setval(pg_get_serial_sequence('persons', 'id'), (SELECT max(id) FROM persons));
             ANALYZE;",
        )
        .expect("sequences");
    } else {
        conn.batch_execute("ANALYZE").expect("analyze");
    }
    ids
}

fn bench_backend(name: &str, settings: Settings, persons: usize, queries: usize) {
    let db = Db::connect(&settings).expect("database");
    let app = varco::startup::open_app(db, settings, Arc::new(SystemClock)).expect("app");
    let keys = app.keys();
    let t = Instant::now();
    let ids = seed(&app.db, &keys, persons);
    let seeded = t.elapsed();
    let mut conn = app.db.conn().expect("connection");
    let now = app.now();
    let indexer = write_tx(&mut conn, |c| match_index::indexer(c, &keys, now)).expect("indexer");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // Warm-up.
    for _ in 0..50 {
        let id = ids[rng.gen_range(0..ids.len())];
        varco::persons::store::candidates(&mut conn, &keys, &indexer, id, 10).expect("candidates");
    }
    let mut times = Vec::with_capacity(queries);
    let (mut proposed, mut scored_max) = (0usize, 0usize);
    for _ in 0..queries {
        let id = ids[rng.gen_range(0..ids.len())];
        let t = Instant::now();
        let found = varco::persons::store::candidates(&mut conn, &keys, &indexer, id, 10).expect("candidates");
        times.push(t.elapsed());
        proposed += found.proposals.len();
        scored_max = scored_max.max(found.proposals.len());
    }
    times.sort();
    let blind: i64 = referral_blind::table.count().get_result(&mut *conn).expect("count");
    println!("\n{name}: candidates for a referral among {persons} stored persons ({blind} blind indexes)");
    println!(
        "  seeded in {:.0} s; {queries} searches: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} proposals on average (at most {scored_max})",
        seeded.as_secs_f64(),
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        proposed as f64 / queries.max(1) as f64,
    );
}

fn main() {
    let persons: usize = std::env::var("VARCO_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let queries: usize = std::env::var("VARCO_BENCH_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let quiet = || Settings {
        bind: "127.0.0.1:0".into(),
        cookie_secure: false,
        ..Settings::default()
    };
    println!(
        "Varco person-matching benchmark, {} ({} cores)",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let only_pg = std::env::var("VARCO_BENCH_ONLY").is_ok_and(|v| v == "postgres");
    if !only_pg {
        let mut sqlite = quiet();
        sqlite.database_url = dir.path().join("bench.db").to_string_lossy().into_owned();
        sqlite.mail_dir = dir.path().join("mail").to_string_lossy().into_owned();
        sqlite.master_key_file = Some(dir.path().join("master.key").to_string_lossy().into_owned());
        bench_backend("SQLite (WAL)", sqlite, persons, queries);
    }
    match std::env::var("VARCO_BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        None => println!("\nPostgreSQL: skipped (set VARCO_BENCH_DATABASE_URL to run it)"),
        Some(base) => {
            let schema = format!("bench_match_{}", std::process::id());
            let mut admin = diesel::PgConnection::establish(&base).expect("connect to PostgreSQL");
            admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("schema");
            let mut pg = quiet();
            let sep = if base.contains('?') { '&' } else { '?' };
            pg.database_url = format!("{base}{sep}options=-csearch_path%3D{schema}");
            pg.mail_dir = dir.path().join("mail-pg").to_string_lossy().into_owned();
            pg.master_key_file = Some(dir.path().join("master-pg.key").to_string_lossy().into_owned());
            bench_backend("PostgreSQL 15 (local)", pg, persons, queries);
            admin
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .expect("drop schema");
        }
    }
}
