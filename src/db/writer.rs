//! The writer thread and its group commit: the only connection that writes, and
//! `Db::write`, the way every request's writes reach it.

use rusqlite::Connection;

use super::{exec, Db};
use crate::error::ApiError;

/// Work for the writer thread.
pub(super) enum Job {
    /// Runs inside the group's transaction; returns whether it succeeded.
    Tx {
        run: Box<dyn FnOnce(&Connection) -> bool + Send>,
        done: std::sync::mpsc::SyncSender<Result<(), CommitError>>,
    },
    /// Runs outside any transaction (e.g. a checkpoint).
    Raw {
        run: Box<dyn FnOnce(&Connection) + Send>,
    },
}

/// Why a group's commit did not happen.
#[derive(Debug, Clone)]
pub(super) struct CommitError {
    disk_full: bool,
    message: String,
}

impl CommitError {
    fn from_sqlite(e: &rusqlite::Error) -> CommitError {
        CommitError {
            disk_full: e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            message: e.to_string(),
        }
    }

    fn into_api(self) -> ApiError {
        if self.disk_full {
            ApiError::StorageFull
        } else {
            ApiError::Internal(format!("commit failed: {}", self.message))
        }
    }
}

/// Most jobs one group takes.
const GROUP_MAX: usize = 128;

impl Db {
    /// Runs `f` as one all-or-nothing unit of an IMMEDIATE transaction on the writer, and
    /// returns once its group is committed (or `f`'s own error, with its work undone).
    /// Blocking: call from inside `web::block`.
    pub fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = slot.clone();
        let (done, committed) = std::sync::mpsc::sync_channel(1);
        let run = Box::new(move |conn: &Connection| {
            let result = f(conn);
            let ok = result.is_ok();
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            ok
        });
        self.writer
            .send(Job::Tx { run, done })
            .map_err(|_| ApiError::internal("the database writer has stopped"))?;
        let outcome = committed
            .recv()
            .map_err(|_| ApiError::internal("the database writer has stopped"))?;
        let own = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        match (outcome, own) {
            (Ok(()), Some(result)) => result,
            (Err(_), Some(Err(own))) => Err(own),
            (Err(e), _) => Err(e.into_api()),
            (Ok(()), None) => Err(ApiError::internal("a write job gave no result")),
        }
    }
}

/// The writer thread: runs until every `Db` handle is gone.
pub(super) fn run_writer(conn: Connection, jobs: std::sync::mpsc::Receiver<Job>) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let mut pending: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
    loop {
        if pending.is_empty() {
            match jobs.recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => return,
            }
        }
        while pending.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => break,
            }
        }
        if let Some(Job::Raw { .. }) = pending.front() {
            if let Some(Job::Raw { run }) = pending.pop_front() {
                let _ = catch_unwind(AssertUnwindSafe(|| run(&conn)));
            }
            continue;
        }
        if let Err(e) = exec(&conn, "BEGIN IMMEDIATE") {
            let err = CommitError::from_sqlite(&e);
            while let Some(Job::Tx { done, .. }) = pending.front() {
                let _ = done.send(Err(err.clone()));
                pending.pop_front();
            }
            continue;
        }
        // Run the transactional jobs at the front of the queue, each in a savepoint.
        let mut group = Vec::new();
        let mut broken: Option<CommitError> = None;
        while let Some(Job::Tx { .. }) = pending.front() {
            let Some(Job::Tx { run, done }) = pending.pop_front() else {
                break;
            };
            if let Err(e) = exec(&conn, "SAVEPOINT job") {
                broken = Some(CommitError::from_sqlite(&e));
                group.push(done);
                break;
            }
            let ok = catch_unwind(AssertUnwindSafe(|| run(&conn))).unwrap_or(false);
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back (a full disk, say): nothing in
                // this group is saved.
                broken = Some(CommitError {
                    disk_full: true,
                    message: "the transaction was rolled back by SQLite".into(),
                });
                group.push(done);
                break;
            }
            let end = if ok {
                exec(&conn, "RELEASE job")
            } else {
                exec(&conn, "ROLLBACK TO job").and_then(|()| exec(&conn, "RELEASE job"))
            };
            if let Err(e) = end {
                broken = Some(CommitError::from_sqlite(&e));
                group.push(done);
                break;
            }
            group.push(done);
        }
        let outcome = match broken {
            Some(e) => Err(e),
            None => exec(&conn, "COMMIT").map_err(|e| CommitError::from_sqlite(&e)),
        };
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for done in group {
            let _ = done.send(outcome.clone());
        }
    }
}
