//! Files stampd creates are its user's alone — the database with its WAL and shared
//! memory files, the lock file, backups and restored copies 0600, folders 0700 —
//! whatever the umask it was started with. (The ACME account and certificates are
//! checked in `acme`.)

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::app::spawn_app;
use crate::support::binary::{Env, Server};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The command run with umask 000: everything it creates would be readable and
/// writable by all but for stampd's own care.
fn permissive(cmd: &mut Command) {
    // SAFETY: umask is async-signal-safe and touches nothing but the child's mask.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
}

fn run_permissive(env: &Env, args: &[&str]) -> String {
    let mut cmd = env.command(args);
    permissive(&mut cmd);
    let out = cmd.stdin(Stdio::null()).output().expect("run stampd");
    assert!(
        out.status.success(),
        "stampd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn files_stampd_creates_are_private_whatever_the_umask() {
    let env = Env::new(&[("backup_dir", "\"copies/daily\"")]);
    let mut server = Server::start_with(&env, permissive);
    // The first start wrote a store and a token: the WAL and shared memory are there.
    for file in [
        env.db.clone(),
        env.sibling("-wal"),
        env.sibling("-shm"),
        env.sibling(".lock"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let backup = run_permissive(&env, &["backup"]);
    let backup = Path::new(backup.trim());
    assert_eq!(mode(backup), 0o600, "the backup");
    let copies = env.dir.path().join("copies");
    assert_eq!(mode(&copies), 0o700);
    assert_eq!(mode(&copies.join("daily")), 0o700);
    let chosen = env.dir.path().join("elsewhere/one.db");
    run_permissive(&env, &["backup", "--out", chosen.to_str().unwrap()]);
    assert_eq!(mode(&chosen), 0o600);
    assert_eq!(mode(chosen.parent().unwrap()), 0o700);
    server.stop();

    // A backup someone made readable by all is restored private.
    std::fs::set_permissions(backup, std::fs::Permissions::from_mode(0o644)).unwrap();
    run_permissive(&env, &["restore", backup.to_str().unwrap()]);
    assert_eq!(mode(&env.db), 0o600, "the restored database");
    let moved_aside = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
        .expect("the previous database, moved aside");
    assert_eq!(mode(&moved_aside.path()), 0o600);
}

#[test]
fn a_database_made_by_the_library_is_private_too() {
    // Not through the command line (which also sets the umask): the test process's
    // own umask stands, and the files are private all the same.
    let app = spawn_app();
    let db = app.db_path();
    assert_eq!(mode(&db), 0o600);
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    assert_eq!(mode(Path::new(&wal)), 0o600);
}
