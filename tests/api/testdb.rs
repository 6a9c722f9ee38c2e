//! A database of its own for every test, made from a template migrated once per run.
//!
//! SQLite: the template is a file migrated once; each test copies it into a folder of its own.
//! PostgreSQL (`VARCO_TEST_DATABASE_URL` names a database on a server where the test role may
//! create databases): the template is a database `varco_tpl_<pid>` migrated once; each test gets
//! `CREATE DATABASE varco_t_<pid>_<n> TEMPLATE varco_tpl_<pid>`, dropped when it ends. Databases
//! and folders that crashed runs left behind (their process is gone) are swept at the first use.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use varco::db::DbConn;

use crate::helpers::{postgres_url, Backend};

static NEXT: AtomicU64 = AtomicU64::new(1);

/// One test's database; removed when dropped.
pub struct TestDb {
    /// The `DATABASE_URL` of the test's database.
    pub url: String,
    /// A private folder for the test (SQLite file, key file, mail).
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg.take() {
            drop_database(&server, &name);
        }
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// `postgres://user:pw@host:port/db?x` with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn drop_database(server: &str, name: &str) {
    if let Ok(mut c) = diesel::PgConnection::establish(server) {
        let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

/// Drops what crashed runs left: databases and folders named after a process that is gone.
fn sweep(server: Option<&str>) {
    if let Some(server) = server {
        if let Ok(mut c) = diesel::PgConnection::establish(server) {
            #[derive(QueryableByName)]
            struct Name {
                #[diesel(sql_type = diesel::sql_types::Text)]
                datname: String,
            }
            let names: Vec<Name> =
                diesel::sql_query("SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'varco\\_t%'")
                    .load(&mut c)
                    .unwrap_or_default();
            for n in names {
                let pid = n.datname.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
                if pid.is_some_and(|p| !pid_alive(p)) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", n.datname));
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("varco-test-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| !pid_alive(p)) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn sqlite_template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        sweep(None);
        let dir = std::env::temp_dir().join(format!("varco-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("template folder");
        let path = dir.join("template.db");
        let _ = std::fs::remove_file(&path);
        let mut conn = DbConn::Sqlite(diesel::SqliteConnection::establish(&path.to_string_lossy()).expect("template"));
        varco::db::run_migrations(&mut conn).expect("migrate the SQLite template");
        path
    })
}

fn pg_template(server: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    TEMPLATE
        .get_or_init(|| {
            sweep(Some(server));
            let name = format!("varco_tpl_{}", std::process::id());
            let mut c = diesel::PgConnection::establish(server).expect("connect to the test PostgreSQL");
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop an old template");
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create the template");
            let mut t = DbConn::Pg(diesel::PgConnection::establish(&with_database(server, &name)).expect("template"));
            varco::db::run_migrations(&mut t).expect("migrate the PostgreSQL template");
            name
        })
        .clone()
}

/// A folder of the test's own, named for the sweep.
fn folder() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("varco-test-{}-", std::process::id()))
        .tempdir()
        .expect("temp dir")
}

/// A migrated database of the test's own.
pub fn fresh(backend: Backend) -> TestDb {
    create(backend, true)
}

/// An empty database of the test's own (no migration applied), for upgrade tests.
pub fn empty(backend: Backend) -> TestDb {
    create(backend, false)
}

fn create(backend: Backend, migrated: bool) -> TestDb {
    let dir = folder();
    match backend {
        Backend::Sqlite => {
            let path = dir.path().join("varco.db");
            if migrated {
                std::fs::copy(sqlite_template(), &path).expect("copy the template");
            }
            TestDb {
                url: path.to_string_lossy().into_owned(),
                dir,
                pg: None,
            }
        }
        Backend::Postgres => {
            let server = postgres_url().expect("VARCO_TEST_DATABASE_URL");
            let name = format!(
                "varco_t_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let mut c = diesel::PgConnection::establish(&server).expect("connect to the test PostgreSQL");
            let sql = if migrated {
                format!("CREATE DATABASE {name} TEMPLATE {}", pg_template(&server))
            } else {
                format!("CREATE DATABASE {name}")
            };
            c.batch_execute(&sql).expect("create the test database");
            TestDb {
                url: with_database(&server, &name),
                dir,
                pg: Some((server, name)),
            }
        }
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/ci_1?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h/db", "y"), "postgresql://h/y");
}
