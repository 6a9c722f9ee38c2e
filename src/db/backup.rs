//! Backup and restore of the SQLite database (PostgreSQL has `pg_dump` and `pg_restore`).
//!
//! A backup is written to a temporary file beside its final name, synced, and only then given
//! that name: a backup killed midway leaves a hidden `.NAME.tmp-…` file, never a file under the
//! name asked for. A restore goes into an empty place only, and only from a file that passes
//! SQLite's integrity check and the caller's own checks (the master key).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::files;
use super::DbConn;
use crate::error::AppError;

fn io_error(what: &str, path: &Path, e: &io::Error) -> AppError {
    AppError::Unavailable(format!("{what} {}: {e}", path.display()))
}

/// Gives `tmp` the name `to`, failing if `to` exists (a hard link never overwrites), then
/// removes `tmp` and syncs the folder.
fn publish(tmp: &Path, to: &Path) -> Result<(), AppError> {
    match fs::hard_link(tmp, to) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(AppError::Conflict(format!("{} already exists", to.display())))
        }
        Err(e) => return Err(io_error("cannot name", to, &e)),
    }
    fs::remove_file(tmp).map_err(|e| io_error("cannot remove", tmp, &e))?;
    let dir = to
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    files::sync_dir(dir).map_err(|e| io_error("cannot sync", dir, &e))
}

/// Writes a consistent online copy of the SQLite database to `to` (`VACUUM INTO` a private
/// temporary file, synced, then renamed). Refuses an existing `to`.
pub fn backup_sqlite(conn: &mut DbConn, to: &Path) -> Result<(), AppError> {
    let DbConn::Sqlite(c) = conn else {
        return Err(AppError::Conflict(
            "the database is PostgreSQL: back it up with pg_dump, e.g. `pg_dump --format=custom --file=varco.dump \"$DATABASE_URL\"`, and keep the master key apart from the dump".into(),
        ));
    };
    if to.exists() {
        return Err(AppError::Conflict(format!("{} already exists", to.display())));
    }
    let tmp = files::temp_beside(to);
    let result = (|| {
        // Created empty and private first: SQLite fills an empty file and keeps its mode.
        files::private_file(&tmp).map_err(|e| io_error("cannot create", &tmp, &e))?;
        let target = tmp.to_string_lossy().replace('\'', "''");
        c.batch_execute(&format!("VACUUM INTO '{target}'"))?;
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error("cannot sync", &tmp, &e))?;
        publish(&tmp, to)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What a restore put in place.
#[derive(Debug)]
pub struct RestoreReport {
    /// Rows of the main tables, by table.
    pub counts: Vec<(&'static str, i64)>,
}

/// Tables whose rows a restore reports.
pub const COUNTED: &[&str] = &[
    "organisations",
    "users",
    "referrals",
    "referral_events",
    "hotline_calls",
    "shifts",
    "outbox",
    "audit_log",
    "data_keys",
];

/// Rows of the tables in [`COUNTED`].
pub fn counts(conn: &mut DbConn) -> Result<Vec<(&'static str, i64)>, AppError> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut out = Vec::new();
    for table in COUNTED {
        let n: N = diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}")).get_result(conn)?;
        out.push((*table, n.n));
    }
    Ok(out)
}

/// Restores the backup `from` as the SQLite database `to`, which must not exist yet (nor its
/// log): the backup is copied beside `to` (private), checked with `PRAGMA integrity_check` and by
/// `verify` (the caller checks the master key there), synced, and only then named `to`.
pub fn restore_sqlite(
    from: &Path,
    to: &Path,
    verify: impl FnOnce(&mut DbConn) -> Result<(), AppError>,
) -> Result<RestoreReport, AppError> {
    for f in files::sqlite_files(to) {
        if f.exists() && fs::metadata(&f).map(|m| m.len() > 0).unwrap_or(true) {
            return Err(AppError::Conflict(format!(
                "{} already exists: restore into an empty place (move the current database away first)",
                f.display()
            )));
        }
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        files::private_dir(dir).map_err(|e| io_error("cannot create", dir, &e))?;
    }
    let tmp: PathBuf = files::temp_beside(to);
    let result = (|| {
        files::private_file(&tmp).map_err(|e| io_error("cannot create", &tmp, &e))?;
        let mut src = fs::File::open(from).map_err(|e| io_error("cannot read", from, &e))?;
        let mut dst = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| io_error("cannot write", &tmp, &e))?;
        io::copy(&mut src, &mut dst).map_err(|e| io_error("cannot copy to", &tmp, &e))?;
        dst.sync_all().map_err(|e| io_error("cannot sync", &tmp, &e))?;
        drop(dst);
        let report = {
            let mut conn = DbConn::Sqlite(
                diesel::SqliteConnection::establish(&tmp.to_string_lossy())
                    .map_err(|e| AppError::Unavailable(format!("{} is not a database: {e}", from.display())))?,
            );
            check_integrity(&mut conn, from)?;
            verify(&mut conn)?;
            let counts = counts(&mut conn)?;
            // A backup is a single file: no log to fold in, but make sure of it.
            conn.batch_execute("PRAGMA journal_mode = DELETE")?;
            RestoreReport { counts }
        };
        for companion in files::sqlite_files(&tmp).iter().skip(1) {
            let _ = fs::remove_file(companion);
        }
        // An empty placeholder left by an earlier attempt is replaced.
        for f in files::sqlite_files(to) {
            if f.exists() {
                fs::remove_file(&f).map_err(|e| io_error("cannot remove", &f, &e))?;
            }
        }
        publish(&tmp, to)?;
        Ok(report)
    })();
    if result.is_err() {
        for f in files::sqlite_files(&tmp) {
            let _ = fs::remove_file(f);
        }
    }
    result
}

fn check_integrity(conn: &mut DbConn, from: &Path) -> Result<(), AppError> {
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(conn)
        .map_err(|e| AppError::Unavailable(format!("{} is not a SQLite database: {e}", from.display())))?;
    if rows.len() != 1 || rows[0].integrity_check != "ok" {
        return Err(AppError::Unavailable(format!(
            "{} fails SQLite's integrity check: not restored",
            from.display()
        )));
    }
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let varco: N = diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('__diesel_schema_migrations', 'referrals', 'data_keys')",
    )
    .get_result(conn)?;
    if varco.n < 3 {
        return Err(AppError::Unavailable(format!(
            "{} is not a Varco database of this version or later",
            from.display()
        )));
    }
    Ok(())
}
