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
pub mod passes;
pub mod rewards;
pub mod stores;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

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

/// Opens one connection with stampd's pragmas (used by migrations and the command line).
pub fn open_connection(path: &Path, settings: &Settings) -> Result<Connection, OpenError> {
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

/// `PRAGMA quick_check`: refuses to start on a damaged file.
pub fn quick_check(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| classify(path, e))?;
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

/// The pools a running server uses.
#[derive(Clone)]
pub struct Db {
    read: Pool<SqliteConnectionManager>,
    write: Pool<SqliteConnectionManager>,
}

impl Db {
    /// Migrates the database, then builds the pools.
    pub fn open(settings: &Settings) -> Result<Db, OpenError> {
        let path = settings.database_path().to_path_buf();
        {
            let mut conn = open_connection(&path, settings)?;
            quick_check(&conn, &path)?;
            migrate(&mut conn, &path)?;
        }
        let pool = |read_only: bool, size: u32| {
            let opts = ConnectionOptions {
                busy_timeout: Duration::from_millis(settings.busy_timeout_ms),
                synchronous: settings.synchronous,
                read_only,
            };
            let manager = SqliteConnectionManager::file(&path)
                .with_flags(
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .with_init(move |c| configure(c, &opts));
            Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(Duration::from_secs(30))
                .build(manager)
                .map_err(|source| OpenError::Pool {
                    path: path.clone(),
                    source,
                })
        };
        Ok(Db {
            write: pool(false, 1)?,
            read: pool(true, settings.read_pool_size)?,
        })
    }

    /// Runs `f` on a read connection. Blocking: call from inside `web::block`.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let conn = self.read.get()?;
        f(&conn)
    }

    /// Runs `f` in one IMMEDIATE transaction on the writer; commits when `f` succeeds,
    /// rolls back when it fails. Blocking: call from inside `web::block`.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut conn = self.write.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Folds the WAL back into the main file so the `.db` file alone is complete.
    pub fn checkpoint(&self) -> Result<(), ApiError> {
        let conn = self.write.get()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// True when a constraint failure came from the named unique index.
pub fn is_unique_violation(err: &rusqlite::Error, index_hint: &str) -> bool {
    match err {
        rusqlite::Error::SqliteFailure(e, Some(msg)) => {
            e.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains(index_hint)
        }
        _ => false,
    }
}
