//! The command line, run as a real process against the test's database.

use std::io::Write;
use std::process::{Command, Stdio};

use awc::http::{Method, StatusCode};

use crate::both;
use crate::helpers::{spawn, Backend, TestApp, PASSWORD};

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn varco(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Out {
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_varco"));
    cmd.args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.settings.database_url)
        .env(
            "VARCO_MASTER_KEY_FILE",
            app.settings.master_key_file.as_deref().unwrap_or_default(),
        )
        .env("RUST_LOG", "warn")
        .env_remove("VARCO_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run varco");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn the_command_line_manages_accounts_tokens_and_backups(b: Backend) {
    let mut app = spawn(b).await;
    let o = varco(
        &app,
        &["org", "add", "--name", "CAS Cona", "--kind", "cas", "--province", "VE"],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("\"CAS Cona\" created"), "{}", o.stdout);
    let o = varco(&app, &["org", "add", "--name", "Bad", "--kind", "bank"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("kind"), "{}", o.stderr);

    // The first administrator from the shell: the setup link is no longer offered.
    let o = varco(
        &app,
        &[
            "user",
            "add",
            "--username",
            "root.admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(varco::startup::first_run_link(&app.state).expect("link").is_none());
    let o = varco(
        &app,
        &[
            "user",
            "add",
            "--username",
            "ref",
            "--role",
            "referrer",
            "--org",
            "CAS Cona",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = varco(&app, &["user", "add", "--username", "x", "--role", "operator"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--password-stdin"));
    assert_eq!(app.login("ref", PASSWORD).await.status, StatusCode::SEE_OTHER);

    let o = varco(
        &app,
        &[
            "token",
            "create",
            "--org",
            "CAS Cona",
            "--role",
            "referrer",
            "--label",
            "gestionale",
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let secret = o.stdout.trim().to_owned();
    assert!(secret.starts_with("vrc_"));
    assert_eq!(
        app.bearer(&secret, Method::GET, "/api/v1/me", None).await.status,
        StatusCode::OK
    );
    let o = varco(&app, &["token", "revoke", "--id", "1"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Revoked from another process: the server's token cache forgets it within its lifetime.
    let cache = std::time::Duration::from_secs(app.settings.token_cache_seconds);
    actix_web::rt::time::sleep(cache + std::time::Duration::from_millis(100)).await;
    assert_eq!(
        app.bearer(&secret, Method::GET, "/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    let o = varco(&app, &["user", "disable", "--username", "ref"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        app.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );

    // Every change from the shell is audited as the command line.
    app.login("root.admin", PASSWORD).await;
    let cli_entries = app.audit("actor=cli").await;
    let actions: Vec<_> = cli_entries.iter().filter_map(|e| e["action"].as_str()).collect();
    for a in [
        "organisation.create",
        "user.create",
        "token.create",
        "token.revoke",
        "user.update",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }

    let target = tempfile::tempdir().expect("dir");
    let file = target.path().join("copy.db");
    let o = varco(&app, &["backup", "--to", file.to_str().expect("path")], None);
    match b {
        Backend::Sqlite => {
            assert_eq!(o.code, 0, "{}", o.stderr);
            use diesel::prelude::*;
            let mut copy = diesel::SqliteConnection::establish(file.to_str().expect("path")).expect("open copy");
            let n: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT COUNT(*) FROM users)",
            ))
            .get_result(&mut copy)
            .expect("count");
            assert_eq!(n, 2, "the copy holds the users");
            let again = varco(&app, &["backup", "--to", file.to_str().expect("path")], None);
            assert_eq!(again.code, 2, "never overwrites");
        }
        Backend::Postgres => {
            assert_eq!(o.code, 2);
            assert!(o.stderr.contains("pg_dump"), "{}", o.stderr);
        }
    }
    let o = varco(&app, &["migrate"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("0 migration(s) applied"), "{}", o.stdout);
}
both!(the_command_line_manages_accounts_tokens_and_backups);
