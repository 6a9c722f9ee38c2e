//! Group commit for SQLite. SQLite has one writer at a time; instead of each request taking the
//! write lock in turn (a thread hop, `BEGIN IMMEDIATE` and a commit each, and an unfair queue),
//! one writer thread takes the waiting writes in arrival order and runs them in one transaction,
//! each in its own savepoint, so that one write's failure undoes only that write. The callers
//! hear their result only after the common commit: an acknowledged write is a committed one.
//! Under light load a batch holds a single write, so nothing waits for company.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};

use super::{DbConn, Pool};
use crate::error::AppError;

/// Most writes committed together: larger batches gain little throughput and make a request that
/// arrives just after a batch began wait longer (measured: 16 gave the best p99 at 64 in flight).
const MAX_BATCH: usize = 16;

/// A queued write: run inside the batch, then told how the commit went.
pub trait Job: Send {
    fn run(&mut self, conn: &mut DbConn);
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

/// A write returning `T` to an awaiting request.
pub struct Typed<T, F> {
    f: Option<F>,
    result: Option<Result<T, AppError>>,
    reply: futures_channel::oneshot::Sender<Result<T, AppError>>,
}

impl<T, F> Typed<T, F> {
    pub fn new(f: F, reply: futures_channel::oneshot::Sender<Result<T, AppError>>) -> Self {
        Typed {
            f: Some(f),
            result: None,
            reply,
        }
    }
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
{
    fn run(&mut self, conn: &mut DbConn) {
        if let Some(f) = self.f.take() {
            // A savepoint: an error rolls back this write alone.
            self.result = Some(conn.transaction(f));
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let out = match (commit, self.result) {
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(AppError::Internal("write not run".into())),
            (Err(e), _) => Err(AppError::Unavailable(e)),
        };
        // The request may have gone (client disconnected): nothing to tell then.
        let _ = self.reply.send(out);
    }
}

/// Copies the write-ahead log into the database every 200 ms, on a thread of its own. SQLite
/// would otherwise checkpoint inside a commit, with an fsync, stalling every write queued behind
/// it; a passive checkpoint runs beside the writer. (Connections are opened with
/// `wal_autocheckpoint = 0`.) The thread ends when the pool is gone.
pub fn spawn_checkpointer(pool: Pool, alive: std::sync::Weak<()>) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    std::thread::Builder::new()
        .name("varco-sqlite-checkpoint".into())
        .spawn(move || {
            // Runs while the `Db` it belongs to exists.
            while alive.strong_count() > 0 {
                std::thread::sleep(std::time::Duration::from_millis(200));
                match pool.get() {
                    Ok(mut conn) => {
                        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                            tracing::warn!(error = %e, "WAL checkpoint failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "no connection for the WAL checkpoint"),
                }
            }
        })
        .map_err(|e| AppError::Unavailable(format!("cannot start the SQLite checkpointer: {e}")))?;
    Ok(())
}

/// Starts the writer thread; it ends when every sender is dropped.
pub fn spawn(pool: Pool) -> Result<Sender<Box<dyn Job>>, AppError> {
    let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
    std::thread::Builder::new()
        .name("varco-sqlite-writer".into())
        .spawn(move || run(pool, rx))
        .map_err(|e| AppError::Unavailable(format!("cannot start the SQLite writer: {e}")))?;
    Ok(tx)
}

fn run(pool: Pool, rx: Receiver<Box<dyn Job>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit_batch(&pool, &mut batch);
        for job in batch {
            job.finish(outcome.clone());
        }
    }
}

fn commit_batch(pool: &Pool, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| format!("database: {e}"))?;
    let begun = match &mut *conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    };
    begun.map_err(|e| format!("database: {e}"))?;
    for job in batch.iter_mut() {
        if catch_unwind(AssertUnwindSafe(|| job.run(&mut conn))).is_err() {
            // The savepoint of the write that panicked is in an unknown state: nothing of the
            // batch is committed, and the connection (still inside a transaction) is dropped by
            // the pool's `has_broken`, which rolls it back.
            tracing::error!("a write panicked: its batch is rolled back");
            return Err("internal error".into());
        }
    }
    if let Err(e) = <DbConn as Connection>::TransactionManager::commit_transaction(&mut conn) {
        let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(&mut conn);
        return Err(format!("commit: {e}"));
    }
    Ok(())
}
