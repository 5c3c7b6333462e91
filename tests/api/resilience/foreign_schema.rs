//! Files stampd did not write: `stampd restore` and start-up refuse a database whose
//! schema is not exactly what stampd's migrations make (a trigger added, an index
//! missing, two empty tables of the right names) or is newer than this stampd knows —
//! before anything is moved — and accept what SQLite and Litestream add by themselves.

use std::path::{Path, PathBuf};

use super::checks::*;
use crate::support::binary::*;

/// A stampd backup of a database with one store and a token for it: (the backup, the
/// token).
fn stampd_backup(env: &Env) -> (PathBuf, String) {
    let store = env.create_store("Original Shop");
    let token = env.create_token(&[store], "counter");
    let file = env.dir.path().join("saved.db");
    env.ok(&["backup", "--out", file.to_str().unwrap()]);
    (file, token)
}

/// A database holding something of its own, to restore over.
fn target_env() -> Env {
    let env = Env::new(&[]);
    env.create_store("Current Shop");
    env
}

/// The bytes of the target database, and the names of every file beside it.
fn snapshot(env: &Env) -> (Vec<u8>, Vec<PathBuf>) {
    (
        std::fs::read(&env.db).unwrap(),
        files_starting_with(env.dir.path(), ""),
    )
}

/// `stampd restore FILE` is refused with `expected` in its message, and the target
/// database and its folder are exactly as they were.
fn restore_refused(file: &Path, expected: &[&str]) {
    let env = target_env();
    let before = snapshot(&env);
    let out = env.run(&["restore", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "restore must be refused: {err}");
    assert!(err.contains("is not a usable stampd backup"), "{err}");
    for e in expected {
        assert!(err.contains(e), "{e:?} in {err}");
    }
    assert!(
        snapshot(&env) == before,
        "a refused restore changes nothing: {:?} -> {:?}",
        before.1,
        files_starting_with(env.dir.path(), "")
    );
}

/// `stampd serve` (and `migrate`) on `file` as the database stop with `expected` in
/// the message.
fn startup_refused(file: &Path, expected: &[&str]) {
    let env = Env::new(&[]);
    std::fs::copy(file, &env.db).unwrap();
    for args in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
        let out = env.run(args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} must fail: {err}");
        for e in expected {
            assert!(err.contains(e), "{args:?}: {e:?} in {err}");
        }
    }
}

#[test]
fn a_backup_with_a_trigger_of_someone_else_is_refused_by_restore_and_startup() {
    let env = Env::new(&[]);
    let (file, _) = stampd_backup(&env);
    {
        // What a hostile file would carry: the next customer insert mints an API token
        // and copies contact data out.
        let conn = open_db(&file);
        conn.execute_batch(
            "CREATE TABLE loot (email TEXT, phone TEXT);
             CREATE TRIGGER customers_audit AFTER INSERT ON customers BEGIN
                 INSERT INTO api_tokens (name, token_hash, created_at)
                     VALUES ('backdoor', randomblob(32), NEW.created_at);
                 INSERT INTO api_token_stores (token_id, store_id)
                     VALUES (last_insert_rowid(), NEW.store_id);
                 INSERT INTO loot VALUES (NEW.email, NEW.phone);
             END;",
        )
        .unwrap();
    }
    restore_refused(&file, &["trigger \"customers_audit\"", "table \"loot\""]);
    startup_refused(&file, &["schema stampd did not write", "customers_audit"]);

    // A trigger of stampd's own name with another body is refused as well.
    let source = Env::new(&[]);
    let (file, _) = stampd_backup(&source);
    {
        let conn = open_db(&file);
        conn.execute_batch(
            "DROP TRIGGER cards_count_insert;
             CREATE TRIGGER cards_count_insert AFTER INSERT ON cards BEGIN
                 UPDATE stores SET cards_count = cards_count + 1 WHERE id = NEW.store_id;
                 DELETE FROM api_tokens;
             END;",
        )
        .unwrap();
    }
    restore_refused(&file, &["trigger \"cards_count_insert\" is changed"]);
    startup_refused(&file, &["cards_count_insert"]);
}

#[test]
fn near_miss_schemas_are_refused_by_restore_and_startup() {
    // Two empty tables of the right names: before, restore took it and the server then
    // would not start.
    let dir = tempfile::tempdir().unwrap();
    let shell = dir.path().join("shell.db");
    open_db(&shell)
        .execute_batch(
            "CREATE TABLE refinery_schema_history (version INTEGER, name TEXT,
                 applied_on TEXT, checksum TEXT);
             CREATE TABLE customers (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    restore_refused(&shell, &["an unexpected table \"customers\""]);
    startup_refused(&shell, &["schema stampd did not write"]);

    // A real backup missing one unique index (two customers could share an email) and
    // with a view added.
    let source = Env::new(&[]);
    let (file, _) = stampd_backup(&source);
    open_db(&file)
        .execute_batch(
            "DROP INDEX customers_email;
             CREATE VIEW everyone AS SELECT email FROM customers;",
        )
        .unwrap();
    restore_refused(
        &file,
        &["index \"customers_email\" is missing", "view \"everyone\""],
    );
    startup_refused(&file, &["customers_email"]);

    // A history that does not name stampd's migrations.
    let source = Env::new(&[]);
    let (file, _) = stampd_backup(&source);
    open_db(&file)
        .execute_batch("UPDATE refinery_schema_history SET checksum = '1' WHERE version = 1")
        .unwrap();
    restore_refused(&file, &["migration history does not match"]);
    startup_refused(&file, &["migration history does not match"]);
}

#[test]
fn a_backup_from_a_newer_stampd_is_refused_before_anything_is_moved() {
    let source = Env::new(&[]);
    let (file, _) = stampd_backup(&source);
    open_db(&file)
        .execute_batch(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
                 VALUES (999, 'future', '2030-01-01T00:00:00Z', '1');
             CREATE TABLE future_things (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    restore_refused(&file, &["newer stampd", "999"]);
    startup_refused(&file, &["newer stampd", "999"]);
}

#[test]
fn a_backup_with_litestream_tables_and_sqlite_statistics_restores_and_serves() {
    let env = Env::new(&[]);
    let (file, token) = stampd_backup(&env);
    {
        // What Litestream adds to a database it replicates, and what ANALYZE (or
        // `PRAGMA optimize`) adds.
        let conn = open_db(&file);
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
             CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);
             INSERT INTO _litestream_seq VALUES (1, 1);
             ANALYZE;",
        )
        .unwrap();
        let stat = count(
            &conn,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'",
            [],
        );
        assert_eq!(stat, 1, "ANALYZE made sqlite_stat1");
    }
    let target = target_env();
    let out = target.run(&["restore", file.to_str().unwrap()]);
    assert!(out.status.success(), "restore: {}", stderr(&out));
    let server = Server::start(&target);
    let (status, body) = http("GET", &server.url("/api/v1/accounts"), Some(&token), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["name"], "Original Shop", "{body}");
}
