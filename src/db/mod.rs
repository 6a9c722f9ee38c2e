//! Storage: one code path over SQLite (embedded default) and PostgreSQL.
//!
//! Queries are written once against [`DbConn`]; the few statements that differ by backend
//! (pragmas, `BEGIN IMMEDIATE`, advisory locks, `SKIP LOCKED`) are matched here and nowhere else.

mod backup;
pub mod files;
pub mod schema;
mod writer;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::{is_postgres_url, Settings, SqliteSync};
use crate::error::AppError;

/// The connection to whichever backend is configured.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// Which backend a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Opens connections of the configured backend, with SQLite's per-connection pragmas.
///
/// Written by hand rather than diesel's `ConnectionManager<DbConn>`: that one tries each backend
/// in turn, so an unreachable PostgreSQL URL would silently become a SQLite file of that name.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
    sync: SqliteSync,
    /// `journal_size_limit`: after a checkpoint resets the log, its file is cut to this size.
    wal_limit_bytes: u64,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        use diesel::r2d2::Error as E;
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConn::Pg)
                .map_err(E::ConnectionError),
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.url).map_err(E::ConnectionError)?;
                let sync = match self.sync {
                    SqliteSync::Normal => "NORMAL",
                    SqliteSync::Full => "FULL",
                };
                // WAL lets readers run beside the one writer; the busy timeout makes writers
                // queue instead of failing; foreign keys are off by default in SQLite.
                // `secure_delete` zeroes what a change frees, so that an erased value (a destroyed
                // data key) does not linger in free space.
                let limit = self.wal_limit_bytes;
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY; \
                     PRAGMA wal_autocheckpoint = 0; PRAGMA secure_delete = ON; \
                     PRAGMA journal_size_limit = {limit};"
                ))
                .map_err(E::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // A connection returned in the middle of a transaction (a panic inside one) is dropped.
        !matches!(
            <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
            Ok(None)
        )
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The backend type of [`DbConn`], for boxed queries.
pub type DbBackend = <DbConn as Connection>::Backend;

/// The columns of a row type, for `RETURNING`: `.returning(columns::<Row>()).get_result::<Row>(…)`.
/// (`Row::as_returning()` does not go through the two-backend connection: its expression is
/// tied to the combined backend, while the plain column tuple works on both.)
pub fn columns<T: diesel::Selectable<DbBackend>>() -> T::SelectExpression {
    T::construct_selection()
}

/// How long a SQLite connection waits for a lock before giving up with "busy".
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// The database handle given to handlers: a pool and its backend.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite: the group-commit writer (see `writer`). Writers never poll SQLite's lock, whose
    /// busy handler sleeps in steps of up to 100 ms. (A SQLite database is served by one
    /// process; PostgreSQL has row locks and needs no writer thread.)
    writer: Option<std::sync::mpsc::Sender<Box<dyn writer::Job>>>,
    /// SQLite: set to have the writer truncate the write-ahead log after its next batch.
    truncate_wal: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Held by every clone; the SQLite checkpointer stops when the last one is gone.
    _alive: std::sync::Arc<()>,
}

/// Opens one connection without a pool, for the command line: a pool keeps opening connections
/// on a background thread, and a process that exits while libpq is connecting can crash.
pub fn connect_one(settings: &Settings) -> Result<DbConn, AppError> {
    let manager = manager(settings)?;
    r2d2::ManageConnection::connect(&manager).map_err(|e| AppError::Unavailable(format!("database: {e}")))
}

fn manager(settings: &Settings) -> Result<Manager, AppError> {
    let url = settings.database_url.clone();
    let backend = if is_postgres_url(&url) {
        Backend::Postgres
    } else {
        files::secure_sqlite(Path::new(&url))
            .map_err(|e| AppError::Unavailable(format!("cannot prepare the database file {url}: {e}")))?;
        Backend::Sqlite
    };
    Ok(Manager {
        url,
        backend,
        sync: settings.sqlite_synchronous,
        wal_limit_bytes: settings.sqlite_wal_limit_mb * 1024 * 1024,
    })
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Pg(_) => Backend::Postgres,
        }
    }
}

impl Db {
    /// Opens the pool (creating the SQLite file and its folder when needed).
    pub fn connect(settings: &Settings) -> Result<Db, AppError> {
        Db::open(settings, Some(1))
    }

    fn open(settings: &Settings, min_idle: Option<u32>) -> Result<Db, AppError> {
        let manager = manager(settings)?;
        let backend = manager.backend;
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size)
            .min_idle(min_idle)
            // A broken connection is dropped on return (`has_broken`); a check query on every
            // checkout would cost a round trip per request.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
        let alive = std::sync::Arc::new(());
        let truncate_wal = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = match backend {
            Backend::Sqlite => {
                let checkpointing = std::sync::Arc::new(std::sync::Mutex::new(()));
                let bound = writer::WalBound {
                    checkpointing,
                    wal: files::sqlite_files(Path::new(&settings.database_url)).remove(1),
                    shm: files::sqlite_files(Path::new(&settings.database_url)).remove(2),
                    limit_bytes: settings.sqlite_wal_limit_mb * 1024 * 1024,
                    truncate_soon: truncate_wal.clone(),
                };
                writer::spawn_checkpointer(pool.clone(), std::sync::Arc::downgrade(&alive), bound.clone())?;
                Some(writer::spawn(pool.clone(), Some(bound))?)
            }
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            writer,
            truncate_wal,
            _alive: alive,
        })
    }

    /// A pool of two connections opened up front, for one command of the command line: nothing
    /// is left connecting in the background when the process exits (libpq can crash then).
    pub fn connect_small(settings: &Settings) -> Result<Db, AppError> {
        let small = Settings {
            pool_size: 2,
            ..settings.clone()
        };
        Db::open(&small, Some(2))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Asks the SQLite writer to checkpoint and truncate the write-ahead log after its next batch
    /// (after an erasure: the pages that held the destroyed key must not linger in the log).
    /// Nothing on PostgreSQL, whose log is the server's.
    pub fn truncate_wal_soon(&self) {
        self.truncate_wal.store(true, std::sync::atomic::Ordering::Release);
    }

    /// A connection for synchronous use (CLI, start-up, background jobs' blocking threads).
    pub fn conn(&self) -> Result<PooledConn, AppError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` on a blocking thread with a connection, outside any transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` as one write: all of it lands or none, and the answer comes after the commit.
    /// SQLite: through the group-commit writer, in a savepoint of a shared transaction;
    /// PostgreSQL: on a blocking thread, in a transaction of its own.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        if let Some(writer) = &self.writer {
            let (reply, answer) = futures_channel::oneshot::channel();
            writer
                .send(Box::new(writer::Typed::new(f, reply)))
                .map_err(|_| AppError::Unavailable("the SQLite writer has stopped".into()))?;
            return answer
                .await
                .map_err(|_| AppError::Internal("the write was dropped without an answer".into()))?;
        }
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            write_tx(&mut conn, f)
        })
        .await?
    }

    /// Applies pending migrations; on PostgreSQL under an advisory lock so that several
    /// instances starting together do not race.
    pub fn migrate(&self) -> Result<usize, AppError> {
        let mut conn = self.conn()?;
        run_migrations(&mut conn)
    }
}

/// Applies pending migrations on one connection.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, AppError> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| AppError::Unavailable(format!("migrations: {e}"));
    match conn {
        DbConn::Sqlite(c) => {
            if !c.has_pending_migration(SQLITE_MIGRATIONS).map_err(fail)? {
                return Ok(0);
            }
            // Migrations that rebuild a table (SQLite cannot add a constraint to one) drop and
            // rename tables others refer to: foreign keys are off meanwhile (they cannot change
            // inside the migrations' transactions) and checked whole afterwards.
            c.batch_execute("PRAGMA foreign_keys = OFF")?;
            let done = c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.len())
                .map_err(fail);
            c.batch_execute("PRAGMA foreign_keys = ON")?;
            let broken: Vec<ForeignKeyProblem> = diesel::sql_query("PRAGMA foreign_key_check").load(c)?;
            if let Some(p) = broken.first() {
                return Err(AppError::Unavailable(format!(
                    "migrations left {} row(s) with a broken reference (first in table {})",
                    broken.len(),
                    p.table
                )));
            }
            done
        }
        DbConn::Pg(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7221530)")?;
            let done = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len())
                .map_err(fail);
            c.batch_execute("SELECT pg_advisory_unlock(7221530)")?;
            done
        }
    }
}

/// SQLite: copies the whole write-ahead log into the database and truncates it, retrying for a
/// while when a reader or the background checkpointer is in the way. `false` when it could not.
pub fn truncate_wal(conn: &mut DbConn) -> Result<bool, AppError> {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    if conn.backend() != Backend::Sqlite {
        return Ok(true);
    }
    for _ in 0..100 {
        let c: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(conn)?;
        if c.busy == 0 {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(false)
}

/// A row of `PRAGMA foreign_key_check`.
#[derive(diesel::QueryableByName)]
struct ForeignKeyProblem {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table: String,
}

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`: a deferred transaction
/// that reads and then writes fails with SQLITE_BUSY at once when another writer got in first,
/// whatever the busy timeout; taking the write lock up front makes writers queue instead.
pub fn write_tx<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, AppError>) -> Result<T, AppError> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            if let Err(e) = <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
                rollback(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

fn rollback(conn: &mut DbConn) {
    if let Err(e) = <DbConn as Connection>::TransactionManager::rollback_transaction(conn) {
        // The pool's `has_broken` sees the transaction still open and drops the connection.
        tracing::error!(error = %e, "rollback failed");
    }
}

/// True inside a transaction (the claims below rely on one).
pub fn in_transaction(conn: &mut DbConn) -> bool {
    matches!(
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    )
}

/// Loads the rows of a query, locking them until the transaction ends: on PostgreSQL
/// `FOR UPDATE SKIP LOCKED`, so that workers of several instances claiming at once take disjoint
/// rows instead of waiting for each other. SQLite has no row locks: the `BEGIN IMMEDIATE` of
/// [`write_tx`] (or the group-commit writer) already lets one claimer in at a time. A macro
/// because diesel's locking clause types are not nameable in a generic bound.
#[macro_export]
macro_rules! load_skip_locked {
    ($conn:expr, $query:expr) => {{
        use diesel::prelude::*;
        match $conn {
            $crate::db::DbConn::Sqlite(c) => $query.load(c),
            $crate::db::DbConn::Pg(c) => $query.for_update().skip_locked().load(c),
        }
    }};
}

/// Runs `$body` with `$c` bound to the concrete connection of `$conn`, so that the query is
/// checked and run for SQLite and for PostgreSQL themselves rather than through the two-backend
/// connection. For hot statements: through the two-backend connection diesel rebuilds a query's
/// SQL text on every run to find its prepared statement; on a concrete one it finds it by the
/// query's type.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}

/// Inserts several rows: on PostgreSQL in one statement (`INSERT … VALUES (…), (…)`, one round
/// trip); on SQLite, which runs in-process, one prepared statement per row, reused from the
/// statement cache (diesel prepares a multi-row insert afresh every time, which costs more than
/// the rows). An empty slice inserts nothing. Derive the rows' `Insertable` with
/// `treat_none_as_default_value = false`: an insert whose columns depend on the values cannot be
/// cached. A macro because diesel's batch insert does not go through the two-backend connection.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::prelude::*;
        let rows = $rows;
        match $conn {
            $crate::db::DbConn::Sqlite(c) => rows.into_iter().try_fold(0, |n, row| {
                diesel::insert_into($table).values(row).execute(c).map(|k| n + k)
            }),
            $crate::db::DbConn::Pg(_) if rows.is_empty() => Ok(0),
            $crate::db::DbConn::Pg(c) => diesel::insert_into($table).values(rows).execute(c),
        }
    }};
}

pub use backup::{backup_sqlite, restore_sqlite, RestoreReport};
