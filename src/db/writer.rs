//! The writer thread and its group commit: the only connection that writes, and
//! `Db::write`, the way every request's writes reach it.

use std::sync::{Arc, OnceLock};

use rusqlite::Connection;

use super::connections::QueuedListener;
use super::pass_updates::{self, Feeds};
use super::webhooks::events;
use super::{exec, outbox, Db, Stats};
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

/// Why a group's commit did not happen. Every job of the group hears it, hence `Clone`
/// (and the SQLite error shared, not copied into a string: it is the cause to log).
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum CommitError {
    /// A statement of the group's transaction control failed.
    #[error("{statement}")]
    Statement {
        statement: &'static str,
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// SQLite rolled the whole transaction back itself (a full disk, say).
    #[error("the transaction was rolled back by SQLite")]
    RolledBack,
}

impl CommitError {
    fn disk_full(&self) -> bool {
        match self {
            CommitError::Statement { source, .. } => {
                source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
            }
            CommitError::RolledBack => true,
        }
    }

    fn into_api(self) -> ApiError {
        if self.disk_full() {
            ApiError::StorageFull
        } else {
            ApiError::internal_in("commit failed", self)
        }
    }
}

/// Runs one statement of the group's transaction control.
fn control(conn: &Connection, statement: &'static str) -> Result<(), CommitError> {
    exec(conn, statement).map_err(|e| CommitError::Statement {
        statement,
        source: Arc::new(e),
    })
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
        let hooks = self.webhooks.clone();
        let queued = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let queued_here = queued.clone();
        let run = Box::new(move |conn: &Connection| {
            // The job's changes become webhook events in its own savepoint, read as the
            // job leaves things; a job that fails leaves none.
            events::discard();
            let result = f(conn).and_then(|t| {
                let base = hooks.public_url.get().map_or("", String::as_str);
                let n = events::record(conn, base)?;
                queued_here.store(n > 0, std::sync::atomic::Ordering::Relaxed);
                Ok(t)
            });
            if result.is_err() {
                events::discard();
            }
            let ok = result.is_ok();
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            ok
        });
        self.writer
            .send(Job::Tx { run, done })
            .map_err(|_| ApiError::internal("the database writer has stopped"))?;
        self.stats.write_queue.inc();
        let outcome = committed
            .recv()
            .map_err(|_| ApiError::internal("the database writer has stopped"))?;
        let own = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if outcome.is_ok() && queued.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(wake) = self.webhooks.on_queued.get() {
                wake();
            }
        }
        match (outcome, own) {
            (Ok(()), Some(result)) => result,
            (Err(_), Some(Err(own))) => Err(own),
            (Err(e), _) => Err(e.into_api()),
            (Ok(()), None) => Err(ApiError::internal("a write job gave no result")),
        }
    }
}

/// The writer thread: runs until every `Db` handle is gone. It queues the updates of
/// the wallets in `feeds`, and tells `queued` which channels each commit queued rows for.
pub(super) fn run_writer(
    conn: Connection,
    jobs: std::sync::mpsc::Receiver<Job>,
    stats: Stats,
    feeds: Feeds,
    queued: Arc<OnceLock<QueuedListener>>,
) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    pass_updates::feed(feeds);
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
        if let Err(err) = control(&conn, "BEGIN IMMEDIATE") {
            while let Some(Job::Tx { done, .. }) = pending.front() {
                let _ = done.send(Err(err.clone()));
                pending.pop_front();
                stats.write_queue.dec();
            }
            continue;
        }
        // Run the transactional jobs at the front of the queue, each in a savepoint.
        let mut group = Vec::new();
        let mut channels: Vec<String> = Vec::new();
        let mut broken: Option<CommitError> = None;
        while let Some(Job::Tx { .. }) = pending.front() {
            let Some(Job::Tx { run, done }) = pending.pop_front() else {
                break;
            };
            stats.write_queue.dec();
            if let Err(e) = control(&conn, "SAVEPOINT job") {
                broken = Some(e);
                group.push(done);
                break;
            }
            let ok = catch_unwind(AssertUnwindSafe(|| run(&conn))).unwrap_or(false);
            // The channels of the outbox rows the job queued; an undone job's are none.
            for channel in outbox::take_queued() {
                if ok && !channels.contains(&channel) {
                    channels.push(channel);
                }
            }
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back (a full disk, say): nothing in
                // this group is saved.
                broken = Some(CommitError::RolledBack);
                group.push(done);
                break;
            }
            let end = if ok {
                control(&conn, "RELEASE job")
            } else {
                control(&conn, "ROLLBACK TO job").and_then(|()| control(&conn, "RELEASE job"))
            };
            if let Err(e) = end {
                broken = Some(e);
                group.push(done);
                break;
            }
            group.push(done);
        }
        let outcome = match broken {
            Some(e) => Err(e),
            None => control(&conn, "COMMIT"),
        };
        if outcome.is_ok() {
            stats.commits.inc();
            stats.group_sizes.observe(group.len() as f64);
        }
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if outcome.is_ok() && !channels.is_empty() {
            if let Some(listener) = queued.get() {
                listener(&channels);
            }
        }
        for done in group {
            let _ = done.send(outcome.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use rusqlite::TransactionState;

    use super::*;
    use crate::config::Settings;
    use crate::db::stores;

    fn stores_on_disk(db: &Db) -> Vec<String> {
        db.read(|conn| {
            let mut stmt = conn.prepare("SELECT name FROM stores ORDER BY id")?;
            let names = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(names)
        })
        .unwrap()
    }

    /// A job, sent straight to the writer, that runs `first`, then adds a store; with
    /// `fails`, it then fails. The receiver answers when its group is over.
    fn add_store(
        db: &Db,
        name: &'static str,
        fails: bool,
        first: impl FnOnce(&Connection) + Send + 'static,
    ) -> mpsc::Receiver<Result<(), CommitError>> {
        let (done, answer) = mpsc::sync_channel(1);
        let run = Box::new(move |conn: &Connection| {
            first(conn);
            stores::insert(conn, name).unwrap();
            !fails
        });
        db.writer.send(Job::Tx { run, done }).unwrap();
        answer
    }

    /// The writer's promises: the jobs waiting run as one group in one IMMEDIATE
    /// transaction, each in its own savepoint (a failing job is undone alone), the group
    /// is committed once, and no job hears back before that commit.
    #[test]
    fn waiting_jobs_are_one_group_committed_once_and_answered_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            database: dir.path().join("t.db"),
            ..Settings::default()
        };
        let db = Db::open(&settings).unwrap();

        // Hold the writer while the group's jobs queue up behind it.
        let (release_writer, held) = mpsc::channel::<()>();
        let run = Box::new(move |_: &Connection| held.recv().unwrap());
        db.writer.send(Job::Raw { run }).unwrap();

        let (state_tx, state) = mpsc::channel();
        let first = add_store(&db, "first", false, move |conn| {
            state_tx
                .send(conn.transaction_state(Some("main")).unwrap())
                .unwrap();
        });
        let failing = add_store(&db, "failing", true, |_| {});
        let (started, last_started) = mpsc::channel();
        let (release_last, last_held) = mpsc::channel::<()>();
        let last = add_store(&db, "last", false, move |_| {
            started.send(()).unwrap();
            last_held.recv().unwrap();
        });
        release_writer.send(()).unwrap();

        // The group took the write lock when it began, before its first write.
        assert_eq!(state.recv().unwrap(), TransactionState::Write);
        last_started.recv().unwrap();
        // The last job runs: the first one's work is done, yet neither committed nor
        // answered.
        assert!(stores_on_disk(&db).is_empty());
        assert!(first.try_recv().is_err(), "answered before its commit");
        assert!(failing.try_recv().is_err(), "answered before its commit");
        release_last.send(()).unwrap();

        for answer in [first, failing, last] {
            assert!(answer.recv().unwrap().is_ok());
        }
        assert_eq!(stores_on_disk(&db), ["first", "last"]);
    }

    /// After a commit that queued outbox rows, the listener hears their channels; a
    /// commit that queued none, or a job undone, tells it nothing.
    #[test]
    fn a_commit_that_queued_rows_names_their_channels() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            database: dir.path().join("t.db"),
            ..Settings::default()
        };
        let db = Db::open(&settings).unwrap();
        let (heard, hear) = mpsc::channel();
        db.on_queued(move |channels| heard.send(channels.to_vec()).unwrap());
        let queue = |fails: bool| {
            db.write(move |conn| {
                let store = stores::insert(conn, "Shop")?;
                let m = outbox::NewMessage {
                    channel: "sms",
                    store_id: store,
                    customer_id: None,
                    customer_card_id: None,
                    address: "+14155550132",
                    payload: None,
                    key: None,
                };
                outbox::enqueue(conn, &m)?;
                if fails {
                    return Err(ApiError::BadRequest("undone".into()));
                }
                Ok(())
            })
        };
        queue(false).unwrap();
        assert_eq!(
            hear.recv_timeout(std::time::Duration::from_secs(10))
                .unwrap(),
            ["sms"]
        );
        db.write(|conn| Ok(stores::insert(conn, "Other")?)).unwrap();
        assert!(queue(true).is_err());
        assert!(
            hear.recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "nothing committed was queued"
        );
    }

    #[test]
    fn a_failed_commit_is_an_internal_error_naming_the_statement_and_its_cause() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let err = CommitError::Statement {
            statement: "BEGIN IMMEDIATE",
            source: Arc::new(busy),
        }
        .into_api();
        assert_eq!(
            crate::error::Chain(&err).to_string(),
            "internal error: commit failed: BEGIN IMMEDIATE: database is locked: \
             Error code 5: database is locked"
        );
    }

    #[test]
    fn a_full_disk_or_a_transaction_sqlite_rolled_back_is_storage_full() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let err = CommitError::Statement {
            statement: "COMMIT",
            source: Arc::new(full),
        };
        assert!(matches!(err.into_api(), ApiError::StorageFull));
        assert!(matches!(
            CommitError::RolledBack.into_api(),
            ApiError::StorageFull
        ));
    }
}
