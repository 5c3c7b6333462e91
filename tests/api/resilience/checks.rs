//! Checks of the SQLite files the resilience tests leave behind, read directly.

use std::path::{Path, PathBuf};

/// `PRAGMA integrity_check`, all rows joined.
pub fn integrity_check(conn: &rusqlite::Connection) -> String {
    let mut stmt = conn.prepare("PRAGMA integrity_check").expect("prepare");
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("integrity_check")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.join("; ")
}

/// `PRAGMA foreign_key_check`: the number of rows that break a foreign key.
pub fn foreign_key_violations(conn: &rusqlite::Connection) -> usize {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check").expect("prepare");
    let n = stmt
        .query_map([], |_| Ok(()))
        .expect("foreign_key_check")
        .count();
    n
}

pub fn count(conn: &rusqlite::Connection, sql: &str, params: impl rusqlite::Params) -> i64 {
    conn.query_row(sql, params, |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Files in `dir` whose names start with `prefix`.
pub fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    v.sort();
    v
}

/// The last `n` lines of a text (for failure messages).
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
