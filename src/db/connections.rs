//! `Db`, the connections a running server uses: the pool of readers, the handle of the
//! writer thread (see `writer`) and the checkpointer's (see `checkpoint`), and the
//! budget of CPU time a costly read may spend (`within_budget`). Opening one
//! connection, its pragmas and the checks are in `open`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use super::checkpoint::run_checkpointer;
use super::exec;
use super::open::{
    classify, configure, migrate, open_connection, sqlite_path, startup_check, ConnectionOptions,
    OpenError,
};
use super::pass_updates::Feeds;
use super::stats::Stats;
use super::writer::{run_writer, Job};
use crate::config::{CheckpointMode, Settings};
use crate::error::ApiError;

/// The connections a running server uses: a pool of readers and one writer.
///
/// The writer is a thread that owns the only write connection and runs write jobs in
/// groups: it takes every job waiting, runs each inside its own savepoint of one
/// IMMEDIATE transaction (a job that fails is rolled back alone), and commits the group
/// once. With `synchronous = FULL` that is one disk sync for many requests instead of
/// one each, and no request is answered before the commit that holds it is durable.
#[derive(Clone)]
pub struct Db {
    pub(super) read: Pool<SqliteConnectionManager>,
    pub(super) writer: std::sync::mpsc::Sender<Job>,
    /// Told, after each commit that queued outbox rows, which channels they are for.
    pub(super) queued: Arc<OnceLock<QueuedListener>>,
    /// The checkpointer thread runs until every copy of this is dropped.
    _checkpointer: std::sync::mpsc::Sender<()>,
    /// True when the full integrity check of a big database is still to run.
    pub check_pending: bool,
    /// Who checkpoints the WAL: stampd, or the tool that replicates it.
    pub(super) checkpoint_mode: CheckpointMode,
    /// The writer's queue and groups and the readers' waits, for `/metrics`.
    pub stats: Stats,
    /// What the writer needs to record webhook events (see `webhooks::events`).
    pub(super) webhooks: super::webhooks::events::SharedHooks,
}

/// Ends a reader's transaction however its work ended (an error or a panic included),
/// so no connection goes back to the pool holding an old snapshot.
struct Snapshot<'a>(&'a Connection);

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if self.0.is_autocommit() {
            return;
        }
        if let Err(e) = exec(self.0, "ROLLBACK") {
            log::error!("ending a read transaction failed: {e}");
        }
    }
}

impl Db {
    /// Migrates the database, then opens the readers and starts the writer.
    pub fn open(settings: &Settings) -> Result<Db, OpenError> {
        let path = settings.database_path().to_path_buf();
        let check_pending;
        {
            let mut conn = open_connection(&path, settings)?;
            check_pending = startup_check(&conn, &path)?;
            migrate(&mut conn, &path)?;
        }
        let opts = ConnectionOptions {
            busy_timeout: Duration::from_millis(settings.busy_timeout_ms),
            synchronous: settings.synchronous,
            read_only: true,
        };
        let manager = SqliteConnectionManager::file(sqlite_path(&path))
            .with_flags(
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(move |c| configure(c, &opts));
        let read = Pool::builder()
            .max_size(settings.read_pool_size)
            // A connection to a local file does not go stale: no test query per checkout.
            .test_on_check_out(false)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build(manager)
            .map_err(|source| OpenError::Pool {
                path: path.clone(),
                source,
            })?;
        let conn = open_connection(&path, settings)?;
        let mode = settings.checkpoint_mode;
        // Copying the WAL into the database file is mostly the checkpointer thread's
        // work, done while the writer goes on committing. The writer still checkpoints
        // when the WAL passes 500 pages: by then most of it is copied, so that is short
        // (shorter than at SQLite's default 1,000: stamp p99 ~14 -> ~10 ms under 32
        // connections), and it lets the WAL start over, so it stays small under any
        // load (and is cut back to 64 MB if it ever grew).
        // With checkpoint_mode = "external" the writer never checkpoints: Litestream
        // must read every page of the WAL before it is copied and the WAL starts over
        // (its "tips and caveats": `wal_autocheckpoint = 0` in the application).
        let autocheckpoint = match mode {
            CheckpointMode::Stampd => 500,
            CheckpointMode::External => 0,
        };
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = {autocheckpoint};
             PRAGMA journal_size_limit = 67108864;"
        ))
        .map_err(|source| classify(&path, source))?;
        let checkpoints = open_connection(&path, settings)?;
        let thread_error = |e: std::io::Error| OpenError::Migrate {
            path: path.clone(),
            message: format!("cannot start a database thread: {e}"),
        };
        let stats = Stats::default();
        let (writer, jobs) = std::sync::mpsc::channel();
        let feeds = Feeds {
            apns: settings.apple.is_some(),
            google: settings.google.is_some(),
        };
        let queued = Arc::new(OnceLock::new());
        let listener = queued.clone();
        let writer_stats = stats.clone();
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run_writer(conn, jobs, writer_stats, feeds, listener))
            .map_err(thread_error)?;
        let (checkpointer, stop) = std::sync::mpsc::channel();
        let wal = super::backup::sibling(&path, "-wal");
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || run_checkpointer(checkpoints, stop, mode, wal))
            .map_err(thread_error)?;
        Ok(Db {
            read,
            writer,
            queued,
            _checkpointer: checkpointer,
            check_pending,
            checkpoint_mode: mode,
            stats,
            webhooks: Default::default(),
        })
    }

    /// The base of the links in webhook events' `data` (the server's `public_url`), and
    /// whom to tell once a commit holds webhook events. Set once; later calls are ignored.
    pub fn set_webhook_hooks(
        &self,
        public_url: &str,
        on_queued: impl Fn() + Send + Sync + 'static,
    ) {
        let _ = self.webhooks.public_url.set(public_url.to_string());
        let _ = self.webhooks.on_queued.set(Box::new(on_queued));
    }

    /// Has `listener` told, after each commit that queued outbox rows, the channels they
    /// are for (the outbox's senders are woken so). Only the first listener set counts.
    pub fn on_queued(&self, listener: impl Fn(&[String]) + Send + Sync + 'static) {
        if self.queued.set(Box::new(listener)).is_err() {
            log::warn!("the outbox is already listening to the writer");
        }
    }

    /// Runs `f` on a read connection, in one read transaction: every query of `f` sees
    /// the same snapshot, and the WAL read lock is taken once rather than per statement.
    /// Blocking: call from inside `web::block`.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let asked = std::time::Instant::now();
        let conn = self.read.get()?;
        (self.stats.read_pool_waits).observe(asked.elapsed().as_secs_f64());
        conn.prepare_cached("BEGIN")?.execute([])?;
        let _snapshot = Snapshot(&conn);
        f(&conn)
    }
}

/// What the writer tells after a commit that queued outbox rows: their channels.
pub(super) type QueuedListener = Box<dyn Fn(&[String]) + Send + Sync>;

/// Work that SQLite stopped because it used up its budget of CPU time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// How many SQLite virtual-machine steps pass between two looks at the clock: often
/// enough to stop within about a millisecond of the budget (a full-text search spends
/// most of its time inside the index, between steps), rarely enough that reading the
/// clock costs a cheap search nothing to speak of.
const STEPS_BETWEEN_CHECKS: i32 = 1000;

/// Runs `f`, whose statements on `conn` may spend `budget` of this thread's CPU time in
/// all; past it SQLite interrupts the statement running, and the answer is
/// `Ok(Err(OverBudget))`. CPU time and not the clock, so that a busy machine (other
/// requests on the same cores) does not make an ordinary search run out.
pub fn within_budget<T>(
    conn: &Connection,
    budget: Duration,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<Result<T, OverBudget>> {
    /// Takes the handler off the connection however `f` ends, so that the connection
    /// goes back to the pool without it.
    struct Unset<'a>(&'a Connection);
    impl Drop for Unset<'_> {
        fn drop(&mut self) {
            let _ = self.0.progress_handler(0, None::<fn() -> bool>);
        }
    }

    let start = thread_cpu_time();
    let spent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = spent.clone();
    conn.progress_handler(
        STEPS_BETWEEN_CHECKS,
        Some(move || {
            let over = thread_cpu_time().saturating_sub(start) > budget;
            if over {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            over
        }),
    )?;
    let _unset = Unset(conn);
    match f(conn) {
        Ok(v) => Ok(Ok(v)),
        Err(e)
            if spent.load(std::sync::atomic::Ordering::Relaxed)
                && e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) =>
        {
            Ok(Err(OverBudget))
        }
        Err(e) => Err(e),
    }
}

/// The CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill; the clock exists on every
    // system stampd builds for (POSIX, Linux since 2.6.12).
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::stores;

    fn count(db: &Db) -> Result<i64, ApiError> {
        db.read(|conn| Ok(conn.query_row("SELECT count(*) FROM stores", [], |r| r.get(0))?))
    }

    fn add_store(db: &Db) {
        db.write(|conn| Ok(stores::insert(conn, "Shop")?)).unwrap();
    }

    /// A statement past its budget is stopped, reported as such, and the connection is
    /// left without the budget for the next user.
    #[test]
    fn work_past_its_budget_is_stopped_and_the_budget_goes_with_it() {
        let conn = Connection::open_in_memory().unwrap();
        // Counts to ten million: far more than a millisecond of CPU time.
        let endless =
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000)
                       SELECT count(*) FROM n";
        let count = |c: &Connection| c.query_row(endless, [], |r| r.get::<_, i64>(0));
        let out = within_budget(&conn, Duration::from_millis(1), count).unwrap();
        assert_eq!(out, Err(OverBudget));

        let small = within_budget(&conn, Duration::from_secs(60), |c| {
            c.query_row("SELECT 41 + 1", [], |r| r.get::<_, i64>(0))
        });
        assert_eq!(small.unwrap(), Ok(42));
        assert_eq!(count(&conn).unwrap(), 10_000_000, "no budget outside");

        // An error of the work itself stays that error.
        let failed = within_budget(&conn, Duration::from_secs(60), |c| {
            c.query_row("SELECT * FROM no_such_table", [], |r| r.get::<_, i64>(0))
        });
        assert!(failed.is_err());
    }

    /// A read that fails or panics must not hand its connection back to the pool still
    /// inside its transaction: the next read on it would see an old snapshot.
    #[test]
    fn a_read_that_fails_or_panics_leaves_no_old_snapshot_behind() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            database: dir.path().join("t.db"),
            read_pool_size: 1,
            ..Settings::default()
        };
        let db = Db::open(&settings).unwrap();
        assert_eq!(count(&db).unwrap(), 0);

        let failed: Result<(), ApiError> = db.read(|conn| {
            conn.query_row("SELECT count(*) FROM stores", [], |r| r.get::<_, i64>(0))?;
            Err(ApiError::not_found("Store"))
        });
        assert!(failed.is_err());
        add_store(&db);
        assert_eq!(count(&db).unwrap(), 1, "sees the write after a failed read");

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), ApiError> = db.read(|conn| {
                conn.query_row("SELECT count(*) FROM stores", [], |r| r.get::<_, i64>(0))?;
                panic!("a bug in a handler");
            });
        }));
        assert!(panicked.is_err());
        add_store(&db);
        assert_eq!(
            count(&db).unwrap(),
            2,
            "sees the write after a panicked read"
        );
    }
}
