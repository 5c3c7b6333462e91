//! Backups: a consistent copy of the database made while stampd serves (`VACUUM INTO`
//! reads one snapshot, so writers carry on), `latest.db` (the copy kept fresh, always
//! safe to copy), and putting a backup back in place.
//!

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::open::sqlite_path;
use super::schema::{self, SchemaError};
use crate::time_fmt;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose another --out file")]
    Exists(PathBuf),
    #[error("{0} is a symbolic link; backups are written to a new file, never through a link: choose another --out file")]
    Symlink(PathBuf),
    #[error("cannot write the backup {path}: {detail}")]
    Write { path: PathBuf, detail: String },
    #[error("{path} is not a usable stampd backup: {detail}")]
    NotABackup { path: PathBuf, detail: String },
    #[error("stampd is running on {0}; stop it first (Ctrl-C or SIGTERM), then restore")]
    InUse(PathBuf),
    #[error("cannot restore to {path}: {detail}")]
    Restore { path: PathBuf, detail: String },
}

/// A file name for a backup taken now, e.g. `stampd-20261126-014512.db`.
pub fn timestamped_name() -> String {
    let now = time_fmt::now();
    let compact: String = now
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .map(|c| if c == 'T' { '-' } else { c })
        .collect();
    format!("stampd-{compact}.db")
}

/// Writes a consistent copy of the open database to `out`, then checks the copy. `out`
/// must be a new file: a symbolic link (even one pointing nowhere) is refused, and the
/// path is never read as a SQLite URI. A copy that fails is removed.
pub fn backup(conn: &Connection, out: &Path) -> Result<(), BackupError> {
    let write_err = |detail: String| BackupError::Write {
        path: out.to_path_buf(),
        detail,
    };
    refuse_existing(out)?;
    let target = sqlite_path(out);
    // VACUUM INTO takes its file name as SQL text, so a name that is not UTF-8 would be
    // written somewhere else than asked.
    let target = target
        .to_str()
        .ok_or_else(|| write_err("the path is not valid UTF-8; choose another --out file".into()))?
        .to_string();
    if let Some(dir) = out.parent() {
        crate::files::create_dir_all(dir).map_err(|e| write_err(e.to_string()))?;
    }
    // Created here, new, empty and private (VACUUM INTO writes into an empty file and
    // keeps its mode): `create_new` fails on anything already at the path, a link made
    // meanwhile included, so the copy goes to this very file and removing it on failure
    // removes only what we made.
    crate::files::create_new(out).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(out.to_path_buf()),
        _ => write_err(e.to_string()),
    })?;
    let result = conn
        .execute("VACUUM INTO ?1", [&target])
        .map_err(|e| write_err(e.to_string()))
        .and_then(|_| verify(out));
    if result.is_err() {
        let _ = fs::remove_file(out);
    }
    result
}

/// The name of `latest.db` in the backup folder.
pub const LATEST: &str = "latest.db";

/// Refreshes `dir/latest.db`: a consistent copy (`VACUUM INTO`, one read transaction)
/// written to a temporary file beside it, checked like a backup to restore, synced, and
/// renamed over the old one, so that `latest.db` is at every moment a whole database
/// (copying it mid-refresh copies the old one, still open by its inode). The folder is
/// synced too, so the new name survives a power cut. Returns its path.
pub fn refresh_latest(conn: &Connection, dir: &Path) -> Result<PathBuf, BackupError> {
    let latest = dir.join(LATEST);
    let temp = dir.join(format!(".{LATEST}.new"));
    let write_err = |detail: String| BackupError::Write {
        path: latest.clone(),
        detail,
    };
    crate::files::create_dir_all(dir).map_err(|e| write_err(e.to_string()))?;
    // Left by a refresh that died halfway (stampd killed): ours to replace.
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(write_err(e.to_string())),
        _ => {}
    }
    backup(conn, &temp).map_err(|e| match e {
        BackupError::Write { detail, .. } => write_err(detail),
        other => other,
    })?;
    let put_in_place = fs::File::open(&temp)
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(&temp, &latest))
        .and_then(|()| fs::File::open(dir))
        .and_then(|d| d.sync_all());
    if let Err(e) = put_in_place {
        let _ = fs::remove_file(&temp);
        return Err(write_err(e.to_string()));
    }
    Ok(latest)
}

/// `path` with `suffix` added to its file name: `sibling("x.db", "-wal")` is `x.db-wal`.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Litestream's own state beside a database `x.db`: the folder `.x.db-litestream`.
/// It describes the file that was there; a restored file needs a fresh one.
pub fn litestream_state(database: &Path) -> Option<PathBuf> {
    let name = database.file_name()?.to_str()?;
    Some(database.with_file_name(format!(".{name}-litestream")))
}

/// Refuses an `--out` path where something already is, a symbolic link included (it is
/// not followed: a dangling one would make the backup land where it points).
fn refuse_existing(out: &Path) -> Result<(), BackupError> {
    match fs::symlink_metadata(out) {
        Ok(meta) if meta.file_type().is_symlink() => Err(BackupError::Symlink(out.to_path_buf())),
        Ok(_) => Err(BackupError::Exists(out.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Write {
            path: out.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Opens a backup read-only and checks it is a whole, readable stampd database whose
/// schema is one stampd wrote (see `db::schema`), of a version this stampd knows.
pub fn verify(file: &Path) -> Result<(), BackupError> {
    let bad = |detail: String| BackupError::NotABackup {
        path: file.to_path_buf(),
        detail,
    };
    let conn = Connection::open_with_flags(sqlite_path(file), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(e.to_string()))?;
    // The file is not trusted yet: no function of its schema runs with our rights.
    conn.execute_batch("PRAGMA trusted_schema = OFF")
        .map_err(|e| bad(e.to_string()))?;
    match schema::check(&conn) {
        Ok(Some(_)) => {}
        Ok(None) => return Err(bad("it has no stampd tables".into())),
        Err(e @ SchemaError::TooNew { .. }) => {
            return Err(bad(format!(
                "{e}; restore it with that stampd, or choose a backup made by this one"
            )))
        }
        Err(e) => return Err(bad(e.to_string())),
    }
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| bad(e.to_string()))?;
    if check != "ok" {
        return Err(bad(format!("integrity_check says {check}")));
    }
    Ok(())
}

/// Deletes the oldest `stampd-*.db` backups in `dir` beyond the newest `keep`.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("stampd-") && n.ends_with(".db"))
        })
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(keep);
    for f in &files[..excess] {
        fs::remove_file(f)?;
    }
    Ok(excess)
}

/// The lock a running server holds on `<database>.lock`, so that `restore` (and a second
/// server) can tell the database is in use.
pub struct ServeLock {
    _file: fs::File,
}

pub fn lock_path(database: &Path) -> PathBuf {
    let mut p = database.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

impl ServeLock {
    /// `None` when another process holds the lock.
    pub fn try_acquire(database: &Path) -> std::io::Result<Option<ServeLock>> {
        let file = crate::files::open_or_create(&lock_path(database))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ServeLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Puts `backup` in place as `database` (stampd stopped). The backup is checked first
/// (whole, and a schema stampd wrote, of a version it knows), so a refused file changes
/// nothing. The current database and any `-wal`/`-shm` files beside it are moved aside
/// as `<name>.before-restore-<time>...`, never deleted, and so is Litestream's state
/// folder of the old file (`.<name>-litestream`), so that a Litestream started again
/// begins a fresh replica history from the restored file. Returns where the old file
/// went, if there was one.
pub fn restore(backup: &Path, database: &Path) -> Result<Option<PathBuf>, BackupError> {
    verify(backup)?;
    let restore_err = |detail: String| BackupError::Restore {
        path: database.to_path_buf(),
        detail,
    };
    let _lock = ServeLock::try_acquire(database)
        .map_err(|e| restore_err(e.to_string()))?
        .ok_or_else(|| BackupError::InUse(database.to_path_buf()))?;
    let stamp = timestamped_name()
        .trim_start_matches("stampd-")
        .trim_end_matches(".db")
        .to_string();
    let aside = |suffix: &str| {
        let mut p = database.as_os_str().to_owned();
        p.push(format!(".before-restore-{stamp}{suffix}"));
        PathBuf::from(p)
    };
    let sibling = |suffix: &str| sibling(database, suffix);
    // Copy first, beside the target, so the rename at the end is atomic.
    let incoming = sibling(".restoring");
    // Private whatever the backup's own mode (a copy may have been made readable).
    crate::files::copy(backup, &incoming)
        .map_err(|e| restore_err(format!("copying the backup: {e}")))?;
    let mut moved = None;
    if database.exists() {
        let to = aside("");
        fs::rename(database, &to).map_err(|e| restore_err(e.to_string()))?;
        moved = Some(to);
    }
    for suffix in ["-wal", "-shm"] {
        let stale = sibling(suffix);
        if stale.exists() {
            fs::rename(&stale, aside(suffix)).map_err(|e| restore_err(e.to_string()))?;
        }
    }
    if let Some(state) = litestream_state(database).filter(|p| p.exists()) {
        let mut to = state.clone().into_os_string();
        to.push(format!(".before-restore-{stamp}"));
        fs::rename(&state, to).map_err(|e| restore_err(e.to_string()))?;
    }
    fs::rename(&incoming, database).map_err(|e| restore_err(e.to_string()))?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(moved)
}
