//! Personal data that can really be erased, files that are private, a bounded write-ahead log, a
//! writer that survives a bad job, atomic backups, verified restores and key rotation.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use awc::http::{Method, StatusCode};
use diesel::prelude::*;
use serde_json::json;

use crate::both;
use crate::cli::varco;
use crate::helpers::{spawn, spawn_on, spawn_with, Backend, TestApp, PASSWORD};
use crate::referrals::{case, commission, consent, file, unit, Unit};
use crate::storage::contains;

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Binary>)]
    b: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct Int {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn bytes(app: &TestApp, query: &str) -> Vec<Option<Vec<u8>>> {
    let mut conn = app.state.db.conn().expect("conn");
    diesel::sql_query(query)
        .load::<Bytes>(&mut *conn)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_iter()
        .map(|r| r.b)
        .collect()
}

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

fn texts(app: &TestApp, query: &str) -> Vec<String> {
    let mut conn = app.state.db.conn().expect("conn");
    diesel::sql_query(query)
        .load::<Text>(&mut *conn)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_iter()
        .map(|r| r.t)
        .collect()
}

fn int(app: &TestApp, query: &str) -> i64 {
    let mut conn = app.state.db.conn().expect("conn");
    diesel::sql_query(query)
        .get_result::<Int>(&mut *conn)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .n
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn sqlite_path(app: &TestApp) -> PathBuf {
    PathBuf::from(&app.settings.database_url)
}

/// True when any of the SQLite files (database, log, shared memory) holds `needle`.
fn in_sqlite_files(app: &TestApp, needle: &[u8]) -> Vec<PathBuf> {
    varco::db::files::sqlite_files(&sqlite_path(app))
        .into_iter()
        .filter(|f| std::fs::read(f).is_ok_and(|b| contains(&b, needle)))
        .collect()
}

/// A commission's report about a person with a recognisable alias, taken in charge, with feedback.
async fn consented_report(u: &mut Unit, alias: &str) -> (TestApp, i64) {
    let org = u.ct_verona;
    let mut ct = commission(u, "ct.erasure", org).await;
    let body = json!({"urgency": "ordinary", "consent": consent(),
                      "person": {"alias": alias, "gender": "female", "age": 23, "nationality": "Nigeria", "languages": ["en"]},
                      "notes": format!("{alias} ha raccontato tutto"), "exploitation_types": ["sexual"]});
    let id = file(&mut ct, body).await["id"].as_i64().expect("id");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/feedback"),
            Some(json!({"version": 1, "body": format!("colloquio con {alias}")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (ct, id)
}

async fn withdrawing_consent_destroys_the_data_key_in_the_file_the_log_and_the_tables(b: Backend) {
    let mut u = unit(b).await;
    let alias = "Adaeze Erasable";
    let (mut ct, id) = consented_report(&mut u, alias).await;
    // Sealed from the start: the alias is nowhere in plain text, not even in an earlier backup.
    let backup = tempfile::tempdir().expect("dir");
    let before = backup.path().join("before.db");
    if b == Backend::Sqlite {
        assert!(in_sqlite_files(&u.op, alias.as_bytes()).is_empty());
        let o = varco(&u.op, &["backup", "--to", before.to_str().expect("path")], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(!contains(&std::fs::read(&before).expect("backup"), alias.as_bytes()));
    }
    let key_id = int(
        &u.op,
        &format!("SELECT data_key_id AS n FROM referrals WHERE id = {id}"),
    );
    let wrapped = bytes(
        &u.op,
        &format!("SELECT wrapped AS b FROM data_keys WHERE id = {key_id}"),
    )
    .remove(0)
    .expect("a live data key");

    let r = ct
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/consent/withdraw"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The key is destroyed; every sealed column is cleared.
    assert_eq!(
        bytes(
            &u.op,
            &format!("SELECT wrapped AS b FROM data_keys WHERE id = {key_id}")
        ),
        vec![None]
    );
    for column in [
        "alias",
        "age",
        "nationality",
        "referrer_contact",
        "notes",
        "source_file",
    ] {
        let v = bytes(
            &u.op,
            &format!("SELECT {column} AS b FROM referral_people WHERE referral_id = {id}"),
        );
        assert_eq!(v, vec![None], "{column}");
    }
    assert_eq!(
        bytes(
            &u.op,
            &format!("SELECT body AS b FROM referral_feedback WHERE referral_id = {id}")
        ),
        vec![None]
    );
    let c = case(&mut u.op, id).await;
    assert_eq!(
        (c["erased"].as_bool(), c["person"]["alias"].is_null()),
        (Some(true), true)
    );
    assert!(c["feedback"][0]["body"].is_null());
    assert!(!c.to_string().contains(alias));

    if b == Backend::Sqlite {
        // The wrapped key leaves the database file and the log: the writer truncates the log
        // after the erasure (at the latest after the next write).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            u.op.get("/api/v1/me").await;
            let holding = in_sqlite_files(&u.op, &wrapped);
            if holding.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "the destroyed key lingers in {holding:?}");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(in_sqlite_files(&u.op, alias.as_bytes()).is_empty());
        // The backup taken before holds the alias sealed, never in plain text.
        assert!(!contains(&std::fs::read(&before).expect("backup"), alias.as_bytes()));
    }
}
both!(withdrawing_consent_destroys_the_data_key_in_the_file_the_log_and_the_tables);

fn ledger_of(app: &TestApp) -> PathBuf {
    let key = app.settings.master_key_file.clone().expect("a key file");
    Path::new(&key).with_file_name(varco::crypto::ledger::FILE_NAME)
}

/// A backup taken before an erasure, restored afterwards, does not bring the person back: the
/// erasure ledger kept beside the master key has the restore erase them again.
async fn an_erasure_after_a_backup_is_applied_again_to_the_restored_copy(b: Backend) {
    let mut u = unit(b).await;
    let alias = "Chiamaka Restorable";
    let (mut ct, id) = consented_report(&mut u, alias).await;
    let other_alias = "Ifeoma Untouched";
    let other = file(
        &mut ct,
        json!({"urgency": "ordinary", "consent": consent(),
               "person": {"alias": other_alias, "gender": "female", "languages": ["en"]},
               "exploitation_types": ["labour"]}),
    )
    .await["id"]
        .as_i64()
        .expect("id");
    let backup = tempfile::tempdir().expect("dir");
    let before = backup.path().join("before.db");
    if b == Backend::Sqlite {
        let o = varco(&u.op, &["backup", "--to", before.to_str().expect("path")], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let key_id = int(
        &u.op,
        &format!("SELECT data_key_id AS n FROM referrals WHERE id = {id}"),
    );
    let wrapped = bytes(
        &u.op,
        &format!("SELECT wrapped AS b FROM data_keys WHERE id = {key_id}"),
    )
    .remove(0)
    .expect("a live data key");
    let ledger = ledger_of(&u.op);
    assert!(!ledger.exists(), "no erasure yet, no ledger");
    let r = ct
        .api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/consent/withdraw"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The ledger names the destroyed key, privately, and nothing about the person.
    let entries = varco::crypto::ledger::read(&ledger).expect("ledger");
    assert_eq!(entries.iter().map(|e| e.data_key_id).collect::<Vec<_>>(), vec![key_id]);
    assert_eq!(mode(&ledger), 0o600);
    let text = std::fs::read(&ledger).expect("ledger");
    assert!(!contains(&text, alias.as_bytes()) && !contains(&text, b"Nigeria"));
    if b == Backend::Postgres {
        // PostgreSQL is restored with pg_restore; the ledger is applied at the next start.
        return;
    }
    // A forged entry (another database's key under the other referral's key id) must not
    // erase the other referral.
    let other_key = int(
        &u.op,
        &format!("SELECT data_key_id AS n FROM referrals WHERE id = {other}"),
    );
    varco::crypto::ledger::append(
        &ledger,
        &[varco::crypto::ledger::Erasure {
            data_key_id: other_key,
            fingerprint: [7; 32],
        }],
    )
    .expect("append");

    let fresh = crate::testdb::empty(Backend::Sqlite);
    let key = u.op.settings.master_key_file.clone().expect("key");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varco"))
        .args(["restore", "--from", before.to_str().expect("path")])
        .env("DATABASE_URL", &fresh.url)
        .env("VARCO_MASTER_KEY_FILE", &key)
        .env("RUST_LOG", "warn")
        .current_dir(fresh.dir.path())
        .output()
        .expect("run varco");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("erased again") && stdout.contains(": 1 referral"),
        "{stdout}"
    );
    // The restored file holds neither the key nor the alias.
    for f in varco::db::files::sqlite_files(Path::new(&fresh.url)) {
        if let Ok(content) = std::fs::read(&f) {
            assert!(!contains(&content, &wrapped), "the erased key is back in {f:?}");
        }
    }
    let mut restored = spawn_on(fresh, Backend::Sqlite, |s| s.master_key_file = Some(key.clone())).await;
    assert_eq!(
        restored.login("operatrice.notte", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let c = case(&mut restored, id).await;
    assert_eq!(
        (
            c["erased"].as_bool(),
            c["person"]["alias"].is_null(),
            c["status"].as_str()
        ),
        (Some(true), true, Some("restricted"))
    );
    assert!(!c.to_string().contains(alias));
    assert!(c.to_string().contains("erasure ledger"), "the history says why: {c}");
    let untouched = case(&mut restored, other).await;
    assert_eq!(untouched["person"]["alias"], other_alias);
    // A copy put in place by hand is erased again when the service starts on it.
    let by_hand = crate::testdb::empty(Backend::Sqlite);
    std::fs::copy(&before, &by_hand.url).expect("copy");
    let mut started = spawn_on(by_hand, Backend::Sqlite, |s| s.master_key_file = Some(key.clone())).await;
    started.login("operatrice.notte", PASSWORD).await;
    let c = case(&mut started, id).await;
    assert!(c["person"]["alias"].is_null() && !c.to_string().contains(alias), "{c}");
    assert_eq!(case(&mut started, other).await["person"]["alias"], other_alias);
    assert_eq!(
        int(
            &restored,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM audit_log WHERE action = 'referral.erasure_reapplied'"
        ),
        1
    );
}
both!(an_erasure_after_a_backup_is_applied_again_to_the_restored_copy);

async fn files_at_rest_are_private_whatever_the_umask() {
    let mut app = spawn(Backend::Sqlite).await;
    app.setup_admin().await;
    app.user("coord")
        .role("coordinator")
        .email("coord@unit.example.org")
        .create()
        .await;
    let db = sqlite_path(&app);
    assert_eq!(mode(db.parent().expect("folder")), 0o700);
    for f in varco::db::files::sqlite_files(&db).into_iter().take(3) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let key = PathBuf::from(app.settings.master_key_file.clone().expect("key file"));
    assert_eq!(mode(&key), 0o600);
    // A notification written to the mail folder.
    varco::notify::enqueue(
        &mut app.state.db.conn().expect("conn"),
        &varco::notify::NewMessage::from_template(varco::notify::Template::Decision, "x@example.org", "R-TEST", "/"),
        varco::clock::db_now(app.state.clock.as_ref()),
    )
    .expect("enqueue");
    let transport = varco::notify::Transport::from_settings(&app.settings).expect("transport");
    varco::notify::dispatch_due(&app.state.db, &transport, &app.state.settings, &app.state.clock)
        .await
        .expect("dispatch");
    let mail = PathBuf::from(&app.settings.mail_dir);
    assert_eq!(mode(&mail), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(&mail)
        .expect("mail")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(!files.is_empty());
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let target = tempfile::tempdir().expect("dir");
    let copy = target.path().join("copy.db");
    let o = varco(&app, &["backup", "--to", copy.to_str().expect("path")], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(mode(&copy), 0o600);
}

#[actix_web::test]
async fn files_at_rest_are_private() {
    files_at_rest_are_private_whatever_the_umask().await;
}

/// Under a umask that lets everyone read and write (`000`), the command line still creates the
/// data folder 0700, the database 0600 and backups 0600.
#[test]
fn the_command_line_makes_private_files_under_an_open_umask() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("data").join("varco.db");
    let backup = dir.path().join("copy.db");
    let run = |args: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask 000 && exec \"$0\" {args}"))
            .arg(env!("CARGO_BIN_EXE_varco"))
            .env("DATABASE_URL", &db)
            .env("VARCO_MASTER_KEY_FILE", dir.path().join("master.key"))
            .env("RUST_LOG", "warn")
            .env_remove("VARCO_CONFIG")
            .current_dir(dir.path())
            .output()
            .expect("run varco");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run("migrate");
    run(&format!("backup --to {}", backup.display()));
    assert_eq!(mode(db.parent().expect("folder")), 0o700);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&backup), 0o600);
}

#[actix_web::test]
async fn the_write_ahead_log_stays_bounded_under_sustained_intake() {
    let mut u = crate::referrals::unit_with(Backend::Sqlite, |s| s.sqlite_wal_limit_mb = 1).await;
    let wal = varco::db::files::sqlite_files(&sqlite_path(&u.op)).remove(1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let largest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher = {
        let (stop, largest, wal) = (stop.clone(), largest.clone(), wal.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                largest.fetch_max(size, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut op = TestApp::sibling(&u.op);
        op.jar = u.op.jar.clone();
        op.csrf = u.op.csrf.clone();
        let cas = u.cas;
        tasks.push(actix_web::rt::spawn(async move {
            for _ in 0..150 {
                file(&mut op, crate::referrals::cas_report(cas)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    watcher.join().expect("watcher");
    let n = u.op.count("referrals");
    assert_eq!(n, 1200);
    let largest = largest.load(std::sync::atomic::Ordering::Relaxed);
    // Without the bound the log grew with every referral (about 26 KB each, 30 MB here).
    assert!(largest <= 3 * 1024 * 1024, "the log reached {largest} bytes");
    let _ = &mut u;
}

async fn a_panicking_write_fails_alone_and_its_neighbours_commit(b: Backend) {
    let app = spawn(b).await;
    let before = app.count("login_throttle");
    let mut writes = Vec::new();
    for i in 0..48 {
        let db = app.state.db.clone();
        let at = varco::clock::db_now(app.state.clock.as_ref());
        writes.push(async move {
            db.write(move |conn| {
                use varco::db::schema::login_throttle;
                diesel::insert_into(login_throttle::table)
                    .values((
                        login_throttle::key.eq(format!("test:{i}")),
                        login_throttle::window_start.eq(at),
                        login_throttle::attempts.eq(1),
                    ))
                    .execute(conn)?;
                if i % 3 == 0 {
                    panic!("a bug in write {i}");
                }
                Ok(i)
            })
            .await
        });
    }
    let results = futures_util::future::join_all(writes).await;
    for (i, r) in results.iter().enumerate() {
        if i % 3 == 0 {
            assert!(
                matches!(r, Err(varco::error::AppError::Internal(_))),
                "write {i}: {r:?}"
            );
        } else {
            assert_eq!(r.as_ref().ok(), Some(&i), "write {i}: {r:?}");
        }
    }
    assert_eq!(
        app.count("login_throttle") - before,
        32,
        "the panicking writes left nothing"
    );
    // The writer is still there.
    let after = app.state.db.write(|_| Ok(1)).await.expect("writer alive");
    assert_eq!(after, 1);
}
both!(a_panicking_write_fails_alone_and_its_neighbours_commit);

#[actix_web::test]
async fn a_killed_backup_never_leaves_a_file_under_the_final_name() {
    let app = spawn(Backend::Sqlite).await;
    // Ballast, so that the copy takes long enough to be killed in the middle.
    crate::storage::sql(
        &app,
        "CREATE TABLE ballast (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) \
         INSERT INTO ballast SELECT randomblob(1048576) FROM n;",
    );
    let target = tempfile::tempdir().expect("dir");
    let final_name = target.path().join("nightly.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_varco"))
        .args(["backup", "--to", final_name.to_str().expect("path")])
        .env("DATABASE_URL", &app.settings.database_url)
        .env(
            "VARCO_MASTER_KEY_FILE",
            app.settings.master_key_file.as_deref().unwrap_or_default(),
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run varco");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let started = std::fs::read_dir(target.path())
            .expect("dir")
            .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with(".nightly.db.tmp-")));
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the backup never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(!final_name.exists(), "a killed backup left a file under the final name");
    // A complete backup gets the name.
    let o = varco(&app, &["backup", "--to", final_name.to_str().expect("path")], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(final_name.exists());
}

async fn backup_then_restore_gives_the_same_counts_and_the_same_values(b: Backend) {
    let mut u = unit(b).await;
    let alias = "Restored Blessing";
    let (_ct, id) = consented_report(&mut u, alias).await;
    let target = tempfile::tempdir().expect("dir");
    let copy = target.path().join("copy.db");
    let o = varco(&u.op, &["backup", "--to", copy.to_str().expect("path")], None);
    if b == Backend::Postgres {
        assert_eq!(o.code, 2);
        assert!(o.stderr.contains("pg_dump"), "{}", o.stderr);
        let o = varco(&u.op, &["restore", "--from", copy.to_str().expect("path")], None);
        assert_eq!(o.code, 2);
        assert!(o.stderr.contains("pg_restore"), "{}", o.stderr);
        return;
    }
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Into a database that exists: refused.
    let o = varco(&u.op, &["restore", "--from", copy.to_str().expect("path")], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("already exists"), "{}", o.stderr);

    // Into an empty place, with the master key the data was sealed under.
    let fresh = crate::testdb::empty(Backend::Sqlite);
    let key = u.op.settings.master_key_file.clone().expect("key");
    let run = |args: &[&str], extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_varco"));
        cmd.args(args)
            .env("DATABASE_URL", &fresh.url)
            .env("VARCO_MASTER_KEY_FILE", &key)
            .env("RUST_LOG", "warn")
            .current_dir(fresh.dir.path());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().expect("run varco")
    };
    // With another master key: refused, nothing left behind.
    let other = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";
    let o = run(
        &["restore", "--from", copy.to_str().expect("path")],
        &[("VARCO_MASTER_KEY", other)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("master key"), "{o:?}");
    assert!(!Path::new(&fresh.url).exists(), "a refused restore leaves no database");
    let o = run(&["restore", "--from", copy.to_str().expect("path")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(mode(Path::new(&fresh.url)), 0o600);

    let url = fresh.url.clone();
    let mut restored = spawn_on(fresh, Backend::Sqlite, |s| s.master_key_file = Some(key.clone())).await;
    assert_eq!(restored.settings.database_url, url);
    for table in [
        "organisations",
        "users",
        "referrals",
        "referral_events",
        "data_keys",
        "referral_feedback",
    ] {
        assert_eq!(restored.count(table), u.op.count(table), "{table}");
    }
    assert_eq!(
        restored.login("operatrice.notte", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let original = case(&mut u.op, id).await;
    let copy = case(&mut restored, id).await;
    assert_eq!(copy["person"]["alias"], alias);
    for field in [
        "person",
        "notes",
        "consent",
        "feedback",
        "exploitation_types",
        "reference",
    ] {
        assert_eq!(copy[field], original[field], "{field}");
    }
}
both!(backup_then_restore_gives_the_same_counts_and_the_same_values);

fn key_lines(path: &str) -> usize {
    std::fs::read_to_string(path)
        .expect("key file")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count()
}

async fn rotating_the_master_key_rewraps_every_data_key_without_stopping(b: Backend) {
    let mut u = unit(b).await;
    let (_ct, id) = consented_report(&mut u, "Rotated Grace").await;
    let backup = tempfile::tempdir().expect("dir");
    let before = backup.path().join("before-rotation.db");
    if b == Backend::Sqlite {
        let o = varco(&u.op, &["backup", "--to", before.to_str().expect("path")], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let key = u.op.settings.master_key_file.clone().expect("key file");
    let old = texts(&u.op, "SELECT master_key_id AS t FROM data_keys").remove(0);

    let o = varco(&u.op, &["key", "rotate", "--step", "begin"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(key_lines(&key), 2, "the new key first, the old one after");
    // The running service picks the new key up by itself.
    actix_web::rt::time::sleep(varco::crypto::holder::RELOAD_EVERY + Duration::from_millis(500)).await;
    let o = varco(&u.op, &["key", "rotate", "--step", "rewrap"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(case(&mut u.op, id).await["person"]["alias"], "Rotated Grace");
    let o = varco(&u.op, &["key", "rotate", "--step", "finish"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(key_lines(&key), 1, "only the new key stays");
    let retired: Vec<PathBuf> = std::fs::read_dir(Path::new(&key).parent().expect("dir"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains(".retired-"))
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(mode(&retired[0]), 0o600);
    let now = texts(
        &u.op,
        "SELECT master_key_id AS t FROM data_keys WHERE master_key_id IS NOT NULL",
    );
    assert!(
        !now.is_empty() && now.iter().all(|k| *k != old),
        "every data key rewrapped"
    );
    // Still readable, and new referrals are sealed under the new key.
    actix_web::rt::time::sleep(varco::crypto::holder::RELOAD_EVERY + Duration::from_millis(500)).await;
    assert_eq!(case(&mut u.op, id).await["person"]["alias"], "Rotated Grace");
    let id2 = file(&mut u.op, crate::referrals::cas_report(u.cas)).await["id"]
        .as_i64()
        .expect("id");
    assert_eq!(case(&mut u.op, id2).await["person"]["alias"], "Blessing");
    let o = varco(&u.op, &["key", "status"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.matches(" data key(s)").count(), 1, "{}", o.stdout);

    if b == Backend::Sqlite {
        // The backup taken before is beyond use once its key is destroyed.
        std::fs::remove_file(&retired[0]).expect("destroy the retired key");
        let fresh = crate::testdb::empty(Backend::Sqlite);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_varco"))
            .args(["restore", "--from", before.to_str().expect("path")])
            .env("DATABASE_URL", &fresh.url)
            .env("VARCO_MASTER_KEY_FILE", &key)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run varco");
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("master key"), "{o:?}");
    }
}
both!(rotating_the_master_key_rewraps_every_data_key_without_stopping);

#[actix_web::test]
async fn a_wrong_master_key_stops_the_start() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    let mut settings = app.settings.clone();
    settings.master_key = Some(varco::config::Secret(
        "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".into(),
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let err =
        varco::startup::Application::with_listener(settings, std::sync::Arc::new(varco::clock::SystemClock), listener)
            .err()
            .expect("refused");
    let text = err.to_string();
    assert!(text.contains("master key"), "{text}");
    assert!(!text.contains("MDEyMzQ1"), "never the key itself: {text}");
}
