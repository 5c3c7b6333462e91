//! Storage: one SQLite file, one writer connection, a small pool of readers.
//!
//! Every connection gets the same pragmas (see [`configure`]). Migrations run once,
//! on their own connection, before the pools exist. Every transaction that may write
//! starts IMMEDIATE, so it takes the write lock up front instead of failing with
//! "database is locked" halfway through.

pub mod backup;
pub mod cards;
pub mod customer_cards;
pub mod customers;
pub mod deliveries;
pub mod idempotency;
pub mod ledger;
pub mod locations;
pub mod passes;
pub mod posters;
pub mod rewards;
pub mod stores;
pub mod tokens;
mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::config::{Settings, Synchronous};
use crate::error::ApiError;

mod embedded {
    refinery::embed_migrations!("sql");
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database {path}: WAL journal mode could not be enabled (SQLite answered {mode:?}); keep the database on a local disk, not a network share")]
    NoWal { path: PathBuf, mode: String },
    #[error("database {path} is damaged ({detail}); stop stampd and put a backup in place with `stampd restore BACKUP_FILE`")]
    Damaged { path: PathBuf, detail: String },
    #[error("database {path} is not a stampd database (or is damaged beyond reading); point --db at the right file, or restore a backup with `stampd restore BACKUP_FILE`")]
    NotADatabase { path: PathBuf },
    #[error("database {path} cannot be written ({detail}); stampd needs write access to the file and its folder (for the -wal and -shm files)")]
    ReadOnly { path: PathBuf, detail: String },
    #[error("database {path} was written by a newer stampd (schema version {found}; this stampd knows up to {known}); run the newer stampd, or restore a backup made by this version")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {path}: migrations failed: {message}")]
    Migrate { path: PathBuf, message: String },
    #[error("database {path}: {source}")]
    Pool { path: PathBuf, source: r2d2::Error },
}

/// Connection settings shared by every connection stampd opens.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionOptions {
    pub busy_timeout: Duration,
    pub synchronous: Synchronous,
    pub read_only: bool,
}

/// Applies stampd's pragmas, in the order that matters: the busy timeout first, so the
/// rest wait for a lock instead of failing; then WAL, which must really be on.
pub fn configure(conn: &Connection, opts: &ConnectionOptions) -> rusqlite::Result<()> {
    conn.busy_timeout(opts.busy_timeout)?;
    // Room for every statement a request runs, so none is parsed again.
    conn.set_prepared_statement_cache_capacity(128);
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("journal_mode is {mode}, not wal")),
        ));
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        opts.synchronous.as_pragma()
    ))?;
    if opts.read_only {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(())
}

/// Process-wide SQLite settings, applied once before the first connection opens:
/// memory statistics off, so allocations on different threads do not queue on one
/// global mutex.
fn init_sqlite() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        // SAFETY: sqlite3_config is called before any connection exists (it answers
        // SQLITE_MISUSE, changing nothing, if SQLite was already initialised).
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

/// Opens one connection with stampd's pragmas (used by migrations and the command line).
pub fn open_connection(path: &Path, settings: &Settings) -> Result<Connection, OpenError> {
    init_sqlite();
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|source| OpenError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let opts = ConnectionOptions {
        busy_timeout: Duration::from_millis(settings.busy_timeout_ms),
        synchronous: settings.synchronous,
        read_only: false,
    };
    configure(&conn, &opts).map_err(|source| match &source {
        rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.starts_with("journal_mode") => {
            OpenError::NoWal {
                path: path.to_path_buf(),
                mode: msg.clone(),
            }
        }
        _ => classify(path, source),
    })?;
    Ok(conn)
}

/// Turns SQLite's error on opening into one that says what to do.
fn classify(path: &Path, source: rusqlite::Error) -> OpenError {
    use rusqlite::ErrorCode as C;
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(C::NotADatabase) => OpenError::NotADatabase { path },
        Some(C::DatabaseCorrupt) => OpenError::Damaged {
            path,
            detail: source.to_string(),
        },
        Some(C::ReadOnly) | Some(C::CannotOpen) | Some(C::PermissionDenied) => {
            OpenError::ReadOnly {
                path,
                detail: source.to_string(),
            }
        }
        _ => OpenError::Open { path, source },
    }
}

/// Applies the embedded migrations up to and including `version` only (used to build
/// databases of an older schema, e.g. to test upgrades).
pub fn migrate_to(conn: &mut Connection, version: i32) -> Result<(), String> {
    embedded::migrations::runner()
        .set_target(refinery::Target::Version(version))
        .run(conn)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The newest schema version this binary carries.
pub fn known_schema_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Refuses a database whose schema is newer than this binary knows.
fn check_not_newer(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let has_history: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'refinery_schema_history')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| classify(path, e))?;
    if !has_history {
        return Ok(());
    }
    let found: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM refinery_schema_history",
            [],
            |r| r.get(0),
        )
        .map_err(|e| classify(path, e))?;
    let known = known_schema_version();
    if found > known {
        return Err(OpenError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    Ok(())
}

/// Databases up to this size are checked completely before the server starts; larger
/// ones are checked in the background once it serves (see [`startup_check`]).
pub const FULL_CHECK_BEFORE_START_BYTES: u64 = 64 * 1024 * 1024;

/// The check on start: `PRAGMA quick_check` of the whole file when it is small, else of
/// the small tables only (the full check then runs in the background, so a big
/// database still starts at once). Returns whether the full check is still to run.
pub fn startup_check(conn: &Connection, path: &Path) -> Result<bool, OpenError> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size <= FULL_CHECK_BEFORE_START_BYTES {
        quick_check(conn, path)?;
        return Ok(false);
    }
    for table in [
        "stores",
        "api_tokens",
        "api_token_stores",
        "cards",
        "rewards",
    ] {
        quick_check_of(conn, path, Some(table))?;
    }
    Ok(true)
}

/// `PRAGMA quick_check`: refuses to start on a damaged file.
pub fn quick_check(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    quick_check_of(conn, path, None)
}

fn quick_check_of(conn: &Connection, path: &Path, table: Option<&str>) -> Result<(), OpenError> {
    let has_table: bool = match table {
        Some(t) => conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
                [t],
                |r| r.get(0),
            )
            .map_err(|e| classify(path, e))?,
        None => true,
    };
    if !has_table {
        return Ok(());
    }
    let sql = match table {
        Some(t) => format!("PRAGMA quick_check({t})"),
        None => "PRAGMA quick_check".to_string(),
    };
    let mut stmt = conn.prepare(&sql).map_err(|e| classify(path, e))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify(path, e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(OpenError::Damaged {
            path: path.to_path_buf(),
            detail: rows.into_iter().take(3).collect::<Vec<_>>().join("; "),
        })
    }
}

/// Checks the file, then applies every embedded migration not yet applied.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), OpenError> {
    check_not_newer(conn, path)?;
    embedded::migrations::runner()
        .run(conn)
        .map(|_| ())
        .map_err(|e| OpenError::Migrate {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// The connections a running server uses: a pool of readers and one writer.
///
/// The writer is a thread that owns the only write connection and runs write jobs in
/// groups: it takes every job waiting, runs each inside its own savepoint of one
/// IMMEDIATE transaction (a job that fails is rolled back alone), and commits the group
/// once. With `synchronous = FULL` that is one disk sync for many requests instead of
/// one each, and no request is answered before the commit that holds it is durable.
#[derive(Clone)]
pub struct Db {
    read: Pool<SqliteConnectionManager>,
    writer: std::sync::mpsc::Sender<Job>,
    /// The checkpointer thread runs until every copy of this is dropped.
    _checkpointer: std::sync::mpsc::Sender<()>,
    /// True when the full integrity check of a big database is still to run.
    pub check_pending: bool,
}

/// Work for the writer thread.
enum Job {
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
struct CommitError {
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

/// Most jobs one group takes.
const GROUP_MAX: usize = 128;

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
        let manager = SqliteConnectionManager::file(&path)
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
        // Copying the WAL into the database file is mostly the checkpointer thread's
        // work, done while the writer goes on committing. The writer still checkpoints
        // when the WAL passes 500 pages: by then most of it is copied, so that is short
        // (shorter than at SQLite's default 1,000: stamp p99 ~14 -> ~10 ms under 32
        // connections), and it lets the WAL start over, so it stays small under any
        // load (and is cut back to 64 MB if it ever grew).
        conn.execute_batch(
            "PRAGMA wal_autocheckpoint = 500;
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(|source| classify(&path, source))?;
        let checkpoints = open_connection(&path, settings)?;
        let thread_error = |e: std::io::Error| OpenError::Migrate {
            path: path.clone(),
            message: format!("cannot start a database thread: {e}"),
        };
        let (writer, jobs) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run_writer(conn, jobs))
            .map_err(thread_error)?;
        let (checkpointer, stop) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || run_checkpointer(checkpoints, stop))
            .map_err(thread_error)?;
        Ok(Db {
            read,
            writer,
            _checkpointer: checkpointer,
            check_pending,
        })
    }

    /// Runs `f` on a read connection, in one read transaction: every query of `f` sees
    /// the same snapshot, and the WAL read lock is taken once rather than per statement.
    /// Blocking: call from inside `web::block`.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let conn = self.read.get()?;
        conn.prepare_cached("BEGIN")?.execute([])?;
        let _snapshot = Snapshot(&conn);
        f(&conn)
    }

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

    /// Folds the WAL back into the main file so the `.db` file alone is complete.
    pub fn checkpoint(&self) -> Result<(), ApiError> {
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        let run = Box::new(move |conn: &Connection| {
            // The checkpointer thread may hold the checkpoint lock for a moment: retry
            // until the WAL is copied and truncated.
            let mut r = Err("the checkpoint stayed busy".to_string());
            for _ in 0..200 {
                match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                    row.get::<_, i64>(0)
                }) {
                    Ok(0) => {
                        r = Ok(());
                        break;
                    }
                    Ok(_) => std::thread::sleep(Duration::from_millis(25)),
                    Err(e) => {
                        r = Err(e.to_string());
                        break;
                    }
                }
            }
            let _ = done.send(r);
        });
        self.writer
            .send(Job::Raw { run })
            .map_err(|_| ApiError::internal("the database writer has stopped"))?;
        finished
            .recv()
            .map_err(|_| ApiError::internal("the database writer has stopped"))?
            .map_err(|e| ApiError::Internal(format!("checkpoint: {e}")))
    }
}

/// The writer thread: runs until every `Db` handle is gone.
/// How long the checkpointer rests when the WAL had nothing new to copy.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(100);

/// Copies committed pages from the WAL into the database file, on its own connection,
/// until the `Db` is gone: again at once while there is work, else after a rest.
/// PASSIVE: it never waits for or blocks the writer or the readers; what a reader
/// still needs is copied next time, and once everything is copied the writer starts
/// the WAL over from its beginning.
fn run_checkpointer(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::TryRecvError;
    let mut rest = Duration::ZERO;
    loop {
        match stop.recv_timeout(rest) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if let Err(TryRecvError::Disconnected) = stop.try_recv() {
            return;
        }
        // (busy, frames in the WAL, frames copied so far)
        let done = conn
            .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
            .and_then(|mut stmt| {
                stmt.query_row([], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
            });
        rest = match done {
            Ok((frames, copied)) if copied < frames => Duration::from_millis(2),
            Ok(_) => CHECKPOINT_IDLE,
            Err(e) => {
                log::warn!("checkpoint: {e}");
                CHECKPOINT_IDLE
            }
        };
    }
}

/// Inserts many rows with one statement: `into` is `table (column, ...)` and `values`
/// holds the rows one after another, `width` values each. Returns the new rows' ids
/// in the order given (each row gets the next rowid, so ascending ids are the rows in
/// order). For imports: one statement for many rows saves more than parsing, as the
/// search index writes what one statement adds as one segment.
pub fn insert_rows(
    conn: &Connection,
    into: &str,
    width: usize,
    values: &[ToSqlOutput<'_>],
) -> rusqlite::Result<Vec<i64>> {
    let row = format!("({})", vec!["?"; width].join(", "));
    let rows = vec![row.as_str(); values.len() / width].join(", ");
    let mut ids = conn
        .prepare_cached(&format!("INSERT INTO {into} VALUES {rows} RETURNING id"))?
        .query_map(rusqlite::params_from_iter(values), |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// A text value bound without a copy of its own (import rows borrow their strings).
pub fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

/// [`text`] for a value that may be absent (NULL).
pub fn opt_text(s: Option<&str>) -> ToSqlOutput<'_> {
    s.map_or(ToSqlOutput::Borrowed(ValueRef::Null), text)
}

/// Runs one statement without parameters, prepared once per connection (transaction
/// control runs several times per request; parsing it each time would show).
pub fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn run_writer(conn: Connection, jobs: std::sync::mpsc::Receiver<Job>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn count(db: &Db) -> Result<i64, ApiError> {
        db.read(|conn| Ok(conn.query_row("SELECT count(*) FROM stores", [], |r| r.get(0))?))
    }

    fn add_store(db: &Db) {
        db.write(|conn| Ok(stores::insert(conn, "Shop")?)).unwrap();
    }

    /// The bundled SQLite is built with each connection's page cache its own (see
    /// `.cargo/config.toml`): with SQLITE_ENABLE_MEMORY_MANAGEMENT every reader's cache
    /// would share one pool behind one mutex.
    #[test]
    fn each_connection_has_a_page_cache_of_its_own() {
        let conn = Connection::open_in_memory().unwrap();
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "SQLite was built with ENABLE_MEMORY_MANAGEMENT: {options:?}"
        );
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
