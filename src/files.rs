//! Files stampd creates are its user's alone: the database (SQLite gives its `-wal` and
//! `-shm` files the database file's mode), backups, the lock file, ACME account keys
//! and certificates are created 0600 and folders 0700, whatever the umask stampd was
//! started with. They hold customers' contact details and private keys; the service's
//! own user (and Litestream or a backup job running as that user) is the one reader.
//!
//! The process umask is set at start as well (`restrict_umask`), so that a file made by
//! a library on the way (SQLite's temporary files) is no wider; the explicit modes here
//! hold for the library's users that do not start through the command line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of every file stampd creates.
pub const FILE_MODE: u32 = 0o600;
/// The mode of every folder stampd creates.
pub const DIR_MODE: u32 = 0o700;

/// Makes files and folders the process creates from now on private to its user, as
/// `umask 077` would.
pub fn restrict_umask() {
    // SAFETY: umask only changes the process's file mode creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` and its missing parents, each new one 0700 (existing ones keep their
/// mode: a shared parent such as `/var/lib` is not ours to change).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Opens `path` for writing as a new file, 0600; fails if anything is at the path (a
/// link made meanwhile included).
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Creates `path` empty and 0600 unless it exists; an existing file is left as it is
/// (a database's owner may have chosen its mode).
pub fn create_if_missing(path: &Path) -> io::Result<()> {
    match create_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens (creating it 0600 if needed) a file that is kept, such as a lock file.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Writes `bytes` to `path` whole or not at all: into a new 0600 file beside it, synced,
/// then renamed over it, so a reader (or a crash) never sees half a key.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.new", std::process::id()));
    let incoming = Path::new(&name);
    let _ = fs::remove_file(incoming);
    let written = create_new(incoming).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let done = written.and_then(|()| fs::rename(incoming, path));
    if done.is_err() {
        let _ = fs::remove_file(incoming);
    }
    done
}

/// Copies `from` to `to` (replacing it), leaving `to` 0600 whatever `from`'s mode.
pub fn copy(from: &Path, to: &Path) -> io::Result<u64> {
    let mut source = File::open(from)?;
    let mut target = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(to)?;
    // A file that was already there keeps its mode when opened: set it.
    target.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    let n = io::copy(&mut source, &mut target)?;
    target.sync_all()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn what_is_created_here_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), DIR_MODE);
        assert_eq!(mode(&nested), DIR_MODE);

        let key = nested.join("key.pem");
        write_atomically(&key, b"one").unwrap();
        write_atomically(&key, b"two").unwrap();
        assert_eq!(fs::read(&key).unwrap(), b"two");
        assert_eq!(mode(&key), FILE_MODE);
        assert_eq!(
            fs::read_dir(&nested).unwrap().count(),
            1,
            "no file left over"
        );

        let open = dir.path().join("open.txt");
        fs::write(&open, "x").unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
        let copied = dir.path().join("copied.txt");
        fs::write(&copied, "old").unwrap();
        fs::set_permissions(&copied, fs::Permissions::from_mode(0o666)).unwrap();
        copy(&open, &copied).unwrap();
        assert_eq!(fs::read(&copied).unwrap(), b"x");
        assert_eq!(mode(&copied), FILE_MODE);

        let db = dir.path().join("new.db");
        create_if_missing(&db).unwrap();
        assert_eq!(mode(&db), FILE_MODE);
        assert!(create_new(&db).is_err(), "a new file only");
    }
}
