//! `Db`, the connections a running server uses: the pool of readers, the handle of the
//! writer thread (see `writer`) and the checkpointer's (see `checkpoint`). Opening one
//! connection, its pragmas and the checks are in `open`.

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
use super::writer::{run_writer, Job};
use crate::config::Settings;
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
    /// The checkpointer thread runs until every copy of this is dropped.
    _checkpointer: std::sync::mpsc::Sender<()>,
    /// True when the full integrity check of a big database is still to run.
    pub check_pending: bool,
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
