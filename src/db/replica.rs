//! Restoring from a Litestream replica (`stampd restore --from-replica`): Litestream's
//! own `litestream restore` rebuilds the database as it was at a point in time into a
//! new file beside the database; then that file goes through exactly what a backup
//! goes through (`backup::restore`: the whole-file check, a schema stampd wrote, of a
//! version it knows, and the swap that moves the current files aside).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::backup::{self, sibling, BackupError, ServeLock};

/// What to restore and with what.
pub struct ReplicaRestore<'a> {
    /// The `litestream` executable.
    pub litestream: &'a Path,
    /// A replica URL (`s3://bucket/path`, `sftp://user@host/path`, `file:///path`) or
    /// the folder of a file replica.
    pub replica: &'a str,
    /// The point in time (RFC 3339); `None`: the latest the replica holds.
    pub timestamp: Option<&'a str>,
}

/// Restores `database` from a replica; returns where the previous file went, if any.
pub fn restore(how: &ReplicaRestore, database: &Path) -> Result<Option<PathBuf>, BackupError> {
    let restore_err = |detail: String| BackupError::Restore {
        path: database.to_path_buf(),
        detail,
    };
    // Checked before the download too, which may take long; `backup::restore` holds the
    // lock while it swaps the files.
    drop(
        ServeLock::try_acquire(database)
            .map_err(|e| restore_err(e.to_string()))?
            .ok_or_else(|| BackupError::InUse(database.to_path_buf()))?,
    );
    let url = replica_url(how.replica).map_err(&restore_err)?;
    // Fetched into a folder of its own that only stampd's user may enter: Litestream
    // creates the file (and its -wal and -shm) with modes of its own choosing, and the
    // file holds every customer's details.
    let folder = sibling(database, ".from-replica");
    let clean = || {
        let _ = std::fs::remove_dir_all(&folder);
    };
    // A folder left by a restore that died halfway.
    clean();
    crate::files::create_dir_all(&folder)
        .map_err(|e| restore_err(format!("{}: {e}", folder.display())))?;
    let fetched = folder.join("restored.db");
    let mut cmd = Command::new(how.litestream);
    cmd.arg("restore").arg("-o").arg(&fetched);
    if let Some(at) = how.timestamp {
        cmd.arg("-timestamp").arg(at);
    }
    cmd.arg(&url);
    let out = cmd.output().map_err(|e| {
        restore_err(format!(
            "cannot run {}: {e} (install Litestream, or name it with --litestream PATH)",
            how.litestream.display()
        ))
    })?;
    if !out.status.success() {
        clean();
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.trim();
        return Err(restore_err(format!(
            "litestream restore from {url} failed ({}): {}",
            out.status,
            if said.is_empty() { "no message" } else { said }
        )));
    }
    // `backup::restore` copies it in as a new private file.
    let result = backup::restore(&fetched, database);
    clean();
    result
}

/// A replica as Litestream names it: a URL as given, a folder as a `file://` URL.
fn replica_url(replica: &str) -> Result<String, String> {
    if replica.contains("://") {
        return Ok(replica.to_string());
    }
    let folder = std::fs::canonicalize(replica).map_err(|e| {
        format!("{replica} is neither a replica URL (s3://, sftp://, file://...) nor a folder: {e}")
    })?;
    let folder = folder
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", folder.display()))?;
    Ok(format!("file://{folder}"))
}
