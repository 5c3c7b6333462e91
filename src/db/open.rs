//! Opening one connection: stampd's pragmas, the embedded migrations and the checks a
//! database file passes before a server or a command uses it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::schema::SchemaError;
use crate::config::{Settings, Synchronous};

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
    #[error("database {path} holds a schema stampd did not write ({detail}); point --db at the right file, or restore a backup with `stampd restore BACKUP_FILE`")]
    Foreign { path: PathBuf, detail: String },
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

/// The name to give SQLite for a file: SQLite takes a name starting with `file:` as a
/// URI with options (`file:x.db?mode=memory`) and `:memory:` as no file at all, so a
/// relative path is given as `./path`, which names exactly that file.
pub fn sqlite_path(path: &Path) -> PathBuf {
    if path.is_relative() {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    }
}

/// Opens one connection with stampd's pragmas (used by migrations and the command line).
pub fn open_connection(path: &Path, settings: &Settings) -> Result<Connection, OpenError> {
    init_sqlite();
    // A new database starts as an empty private file: SQLite keeps the mode of the file
    // it finds and gives its -wal and -shm files the same. (Where the file cannot be
    // made, SQLite's own open below says why.)
    let _ = crate::files::create_if_missing(path);
    let conn = Connection::open_with_flags(
        sqlite_path(path),
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
pub(super) fn classify(path: &Path, source: rusqlite::Error) -> OpenError {
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

/// One embedded migration: what the history table records of it, and its SQL.
pub(super) struct EmbeddedMigration {
    pub version: i64,
    pub name: String,
    pub checksum: u64,
    pub sql: String,
}

/// The embedded migrations, oldest first.
pub(super) fn embedded_migrations() -> Vec<EmbeddedMigration> {
    let mut all: Vec<EmbeddedMigration> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| EmbeddedMigration {
            version: i64::from(m.version()),
            name: m.name().to_string(),
            checksum: m.checksum(),
            sql: m.sql().unwrap_or_default().to_string(),
        })
        .collect();
    all.sort_by_key(|m| m.version);
    all
}

/// Refuses a database whose schema stampd did not write (see `schema`), or a newer one.
fn check_schema(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    match super::schema::check(conn) {
        Ok(_) => Ok(()),
        Err(SchemaError::Sqlite(e)) => Err(classify(path, e)),
        Err(SchemaError::TooNew { found, known }) => Err(OpenError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        }),
        Err(SchemaError::Foreign(detail)) => Err(OpenError::Foreign {
            path: path.to_path_buf(),
            detail,
        }),
    }
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

/// Checks the file's schema, then applies every embedded migration not yet applied.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), OpenError> {
    check_schema(conn, path)?;
    embedded::migrations::runner()
        .run(conn)
        .map(|_| ())
        .map_err(|e| OpenError::Migrate {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
