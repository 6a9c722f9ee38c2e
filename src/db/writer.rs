//! Group commit for SQLite. SQLite has one writer at a time; instead of each request taking the
//! write lock in turn (a thread hop, `BEGIN IMMEDIATE` and a commit each, and an unfair queue),
//! one writer thread takes the waiting writes in arrival order and runs them in one transaction,
//! each in its own savepoint, so that one write's failure undoes only that write. The callers
//! hear their result only after the common commit: an acknowledged write is a committed one.
//! Under light load a batch holds a single write, so nothing waits for company.
//!
//! A write that panics is rolled back to its own savepoint and answered with an error; the
//! others of its batch go on. Between batches the writer keeps the write-ahead log bounded: past
//! the configured size (or when an erasure asks for it) it checkpoints the whole log into the
//! database and truncates it, which only the writer can do without racing another writer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, TryLockError};

use diesel::connection::{AnsiTransactionManager, Connection, SimpleConnection, TransactionManager};

use super::{DbConn, Pool};
use crate::error::AppError;

/// Most writes committed together: larger batches gain little throughput and make a request that
/// arrives just after a batch began wait longer (measured: 16 gave the best p99 at 64 in flight).
const MAX_BATCH: usize = 16;

/// A queued write: run inside the batch, then told how the commit went.
pub trait Job: Send {
    fn run(&mut self, conn: &mut DbConn);
    /// The write panicked: it is answered with this error instead of its result.
    fn fail(&mut self, error: AppError);
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

    fn fail(&mut self, error: AppError) {
        self.result = Some(Err(error));
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

/// How the writer keeps the write-ahead log bounded.
#[derive(Clone, Debug)]
pub struct WalBound {
    /// The `-wal` file of the database.
    pub wal: PathBuf,
    /// The `-shm` file (the WAL-index), whose header says how long the log is.
    pub shm: PathBuf,
    /// The bound: past it the writer waits for the checkpointer to finish and truncates the log
    /// before the next batch. From half of it the log is started over when the checkpointer is
    /// idle.
    pub limit_bytes: u64,
    /// Set by an erasure: truncate the log after the next batch, so that the pages that held an
    /// erased data key do not linger in it.
    pub truncate_soon: Arc<AtomicBool>,
    /// Held by whoever checkpoints (the checkpointer thread, the writer): two checkpoints at once
    /// make the second fail at once with "busy", and the log grows meanwhile.
    pub checkpointing: Arc<Mutex<()>>,
}

#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// Copies the write-ahead log into the database every 200 ms, on a thread of its own. SQLite
/// would otherwise checkpoint inside a commit, with an fsync, stalling every write queued behind
/// it; a passive checkpoint runs beside the writer. (Connections are opened with
/// `wal_autocheckpoint = 0`.) Under sustained writes, once the log passes a quarter of its bound,
/// it checkpoints every 20 ms, so that when the writer starts the log over little is left to
/// copy. The thread ends when the pool is gone.
pub fn spawn_checkpointer(pool: Pool, alive: std::sync::Weak<()>, bound: WalBound) -> Result<(), AppError> {
    std::thread::Builder::new()
        .name("varco-sqlite-checkpoint".into())
        .spawn(move || {
            let mut pause = 200;
            // Runs while the `Db` it belongs to exists.
            while alive.strong_count() > 0 {
                std::thread::sleep(std::time::Duration::from_millis(pause));
                match pool.get() {
                    Ok(mut conn) => {
                        let _turn = bound.checkpointing.lock().unwrap_or_else(|p| p.into_inner());
                        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                            tracing::warn!(error = %e, "WAL checkpoint failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "no connection for the WAL checkpoint"),
                }
                let busy = log_len(&bound.shm).is_some_and(|n| n > bound.limit_bytes / 4);
                pause = if busy { 20 } else { 200 };
            }
        })
        .map_err(|e| AppError::Unavailable(format!("cannot start the SQLite checkpointer: {e}")))?;
    Ok(())
}

/// Starts the writer thread; it ends when every sender is dropped.
pub fn spawn(pool: Pool, bound: Option<WalBound>) -> Result<Sender<Box<dyn Job>>, AppError> {
    let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
    std::thread::Builder::new()
        .name("varco-sqlite-writer".into())
        .spawn(move || run(pool, rx, bound))
        .map_err(|e| AppError::Unavailable(format!("cannot start the SQLite writer: {e}")))?;
    Ok(tx)
}

fn run(pool: Pool, rx: Receiver<Box<dyn Job>>, bound: Option<WalBound>) {
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
        if let Some(b) = &bound {
            keep_wal_bounded(&pool, b);
        }
    }
}

/// The log's length in bytes, from the WAL-index header (`mxFrame`, the last valid frame, and
/// the page size: <https://www.sqlite.org/walformat.html>). The file's size does not tell once
/// the log has started over, since SQLite then writes over the old frames. `None` when the
/// header cannot be read.
fn log_len(shm: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut hdr = [0u8; 24];
    std::fs::File::open(shm).ok()?.read_exact_at(&mut hdr, 0).ok()?;
    let page = match u16::from_ne_bytes([hdr[14], hdr[15]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let frames = u64::from(u32::from_ne_bytes([hdr[16], hdr[17], hdr[18], hdr[19]]));
    Some(frames * (page + 24))
}

/// Keeps the log under its bound. Under sustained writes the checkpointer's passive checkpoints
/// never catch up with the end of the log, so SQLite never starts it over: the writer does,
/// between two batches (when it holds no lock). Past half the bound, when the checkpointer is
/// idle and no reader is on the log, it copies what is left into the database and starts the log
/// over (`RESTART`: the next batch writes from the beginning of the file, over pages the kernel
/// already holds); otherwise it tries again after the next batch. Past the bound, or when an
/// erasure asked for it, it waits for the checkpointer's turn to end and for readers (the busy
/// timeout) and truncates the file (`TRUNCATE`), so that the frames that held an erased data key
/// do not linger. Either way the writes wait for one sync of the database file.
fn keep_wal_bounded(pool: &Pool, b: &WalBound) {
    let size = std::fs::metadata(&b.wal).map(|m| m.len()).unwrap_or(0);
    let asked = b.truncate_soon.swap(false, Ordering::AcqRel);
    let must = asked || size > b.limit_bytes;
    if !must && log_len(&b.shm).unwrap_or(size) <= b.limit_bytes / 2 {
        return;
    }
    let _turn = if must {
        b.checkpointing.lock().unwrap_or_else(|p| p.into_inner())
    } else {
        match b.checkpointing.try_lock() {
            Ok(turn) => turn,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        }
    };
    let Ok(mut conn) = pool.get() else {
        b.truncate_soon.store(asked, Ordering::Release);
        return;
    };
    let mode = if must { "TRUNCATE" } else { "RESTART" };
    // Starting over early need not wait for readers: it is tried again after the next batch.
    // (SQLite's busy handler sleeps 1, 2, 5, 10… ms, all of it with the writer stopped.)
    let patient = must || conn.batch_execute("PRAGMA busy_timeout = 0").is_err();
    use diesel::RunQueryDsl;
    let done = diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result::<Checkpoint>(&mut *conn);
    if !patient {
        // Fails only on a broken connection.
        if let Err(e) = conn.batch_execute(&format!("PRAGMA busy_timeout = {}", super::BUSY_TIMEOUT_MS)) {
            tracing::error!(error = %e, "cannot restore the busy timeout");
        }
    }
    match done {
        Ok(c) if c.busy == 0 => tracing::debug!(bytes = size, mode, "write-ahead log started over"),
        Ok(_) if must => {
            b.truncate_soon.store(asked, Ordering::Release);
            tracing::warn!(bytes = size, "write-ahead log not truncated: readers still on it")
        }
        Ok(_) => tracing::debug!(bytes = size, "write-ahead log not started over yet: readers on it"),
        Err(e) => {
            b.truncate_soon.store(asked, Ordering::Release);
            tracing::warn!(error = %e, "write-ahead log checkpoint failed")
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
        let depth = depth(&mut conn);
        if catch_unwind(AssertUnwindSafe(|| job.run(&mut conn))).is_err() {
            // The panic left this write's savepoint (and any inside it) open: roll back to it,
            // so that the batch's other writes go on untouched.
            tracing::error!("a write panicked: it alone is rolled back");
            while self::depth(&mut conn) > depth {
                if <DbConn as Connection>::TransactionManager::rollback_transaction(&mut conn).is_err() {
                    // The connection cannot be trusted: nothing of the batch is committed, and
                    // the pool drops it (`has_broken` sees the open transaction).
                    return Err("internal error".into());
                }
            }
            job.fail(AppError::Internal("the write panicked".into()));
        }
    }
    if let Err(e) = <DbConn as Connection>::TransactionManager::commit_transaction(&mut conn) {
        let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(&mut conn);
        return Err(format!("commit: {e}"));
    }
    Ok(())
}

/// How many transactions and savepoints are open on `conn` (0 when none; a broken state counts
/// as very deep, so that the caller stops trusting the connection).
fn depth(conn: &mut DbConn) -> u32 {
    match <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth() {
        Ok(Some(d)) => d.get(),
        Ok(None) => 0,
        Err(_) => u32::MAX,
    }
}
