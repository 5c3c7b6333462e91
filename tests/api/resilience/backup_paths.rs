//! Where `stampd backup --out FILE` writes: only to the new file named, literally — never
//! through a symbolic link (a dangling one included), never to where a SQLite URI would
//! point — and a copy that fails leaves no file behind.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Stdio;

use super::checks::*;
use crate::support::binary::*;

fn refused(env: &Env, out: &Path, expected: &str) {
    let run = env.run(&["backup", "--out", out.to_str().unwrap()]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "backup must be refused: {err}");
    assert!(err.contains(expected), "{expected:?} in {err}");
}

#[test]
fn a_symbolic_link_is_refused_even_a_dangling_one() {
    let env = Env::new(&[]);
    env.create_store("Shop");
    let dir = env.dir.path();

    let nowhere = dir.join("elsewhere").join("planted.db");
    std::fs::create_dir(dir.join("elsewhere")).unwrap();
    let dangling = dir.join("dangling.db");
    symlink(&nowhere, &dangling).unwrap();
    refused(&env, &dangling, "is a symbolic link");
    assert!(!nowhere.exists(), "nothing written where the link points");
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is left alone"
    );

    let precious = dir.join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let link = dir.join("link.db");
    symlink(&precious, &link).unwrap();
    refused(&env, &link, "is a symbolic link");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");

    refused(&env, &precious, "already exists");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
}

#[test]
fn an_out_path_that_looks_like_a_sqlite_uri_is_a_file_of_that_name() {
    let env = Env::new(&[]);
    env.create_store("Shop");
    // Relative to the folder the command runs in (the test's folder).
    let name = "file:copy.db?mode=rwc";
    let out = env.ok(&["backup", "--out", name]);
    assert_eq!(out.trim(), name, "prints the file it wrote");
    let literal = env.dir.path().join(name);
    assert!(literal.is_file(), "a file named {name:?} was written");
    assert!(
        !env.dir.path().join("copy.db").exists(),
        "nothing written where the URI would point"
    );
    let conn = open_db(&literal);
    assert_eq!(integrity_check(&conn), "ok");
    assert_eq!(count(&conn, "SELECT count(*) FROM stores", []), 1);

    // And `restore` reads that same file.
    drop(conn);
    let target = Env::new(&[]);
    let out = target.run(&["restore", literal.to_str().unwrap()]);
    assert!(out.status.success(), "restore: {}", stderr(&out));
    let restored = open_db(&target.db);
    assert_eq!(count(&restored, "SELECT count(*) FROM stores", []), 1);
}

#[test]
fn a_backup_that_fails_midway_removes_its_partial_file() {
    let env = Env::new(&[]);
    let store = env.create_store("Shop");
    {
        let conn = open_db(&env.db);
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO customers (store_id, first_name, first_name_key, metadata, created_at,
                 updated_at)
             SELECT ?1, 'Filler', 'filler', json_object('pad', hex(randomblob(300))),
                 '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z' FROM n",
            [store],
        )
        .unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    assert!(std::fs::metadata(&env.db).unwrap().len() > 1024 * 1024);
    let out = env.dir.path().join("partial.db");
    // A file size limit of 256 KiB makes the copy fail part-way (the write answers
    // EFBIG once SIGXFSZ is ignored), as a full disk would.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 512; exec "$@""#)
        .arg("sh")
        .arg(BIN)
        .arg("--config")
        .arg(&env.config)
        .arg("--db")
        .arg(&env.db)
        .args(["backup", "--out"])
        .arg(&out)
        .current_dir(env.dir.path())
        .stdin(Stdio::null());
    let run = cmd.output().unwrap();
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "the backup fails: {err}");
    assert!(err.contains("cannot write the backup"), "{err}");
    assert!(
        files_starting_with(env.dir.path(), "partial.db").is_empty(),
        "no partial file is left: {:?}",
        files_starting_with(env.dir.path(), "partial.db")
    );
}
