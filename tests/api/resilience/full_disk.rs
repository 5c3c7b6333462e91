//! Full disk: the database on a 3 MiB tmpfs. Writes that do not fit answer a clear
//! 503 JSON error and leave nothing behind, reads keep working, and once the disk grows
//! writes work again without a restart. Needs root (to mount); skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use super::checks::*;
use crate::support::binary::*;

/// A tmpfs mounted for the test; unmounted on drop, also when the test fails.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    /// `None` when the mount is not allowed here.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("mount failed: {}", stderr(&out));
            return None;
        }
        Some(Mount {
            dir: dir.to_path_buf(),
        })
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .output()
            .expect("run mount");
        assert!(out.status.success(), "remount: {}", stderr(&out));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a process left behind): detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// A customer whose metadata takes about 12 KB, to fill the disk in few requests.
fn big_customer(n: usize) -> Value {
    let notes: String = (0..12_000)
        .map(|i| char::from(b'a' + ((i * 7 + n) % 26) as u8))
        .collect();
    json!({"customer": {
        "first_name": format!("Filler{n}"),
        "email": format!("fill{n}@example.com"),
        "metadata": {"notes": notes, "n": n},
    }})
}

/// The log lines that report failures, for messages.
fn error_lines(log: &str) -> String {
    log.lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_full_disk_answers_503_keeps_reads_and_recovers_without_restart() {
    let mut env = Env::new(&[("backup_interval_hours", "0")]);
    let disk = env.dir.path().join("disk");
    std::fs::create_dir(&disk).expect("mkdir");
    env.db = disk.join("x.db");
    let Some(mount) = Mount::tmpfs(&disk, "3m") else {
        println!("skipped: cannot mount a tmpfs (needs root)");
        return;
    };
    let (mut server, client) = first_start(&env);
    let path = client.store_path("/customers");

    let mut created: Vec<(i64, usize)> = Vec::new();
    let mut full: Option<(usize, Resp)> = None;
    for n in 0..2000 {
        let r = client.post(&path, &big_customer(n));
        match r.status {
            201 => created.push((r.body["id"].as_i64().unwrap(), n)),
            503 => {
                full = Some((n, r));
                break;
            }
            500 => panic!(
                "SERVER BUG: a write on a full disk answered 500 instead of 503 \
                 (SQLite reported the full disk as another error code) after {} customers: {}\nlog:\n{}",
                created.len(),
                r.text,
                error_lines(&server.log_text())
            ),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    let (failed_n, r) = full.expect("the 3 MiB disk never filled up");
    assert!(created.len() > 5, "the disk filled too soon");
    let error = r.body["error"].as_str().unwrap_or_else(|| {
        panic!("503 without a JSON error: {:?}", r.text);
    });
    assert!(error.starts_with("Storage full"), "{error}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    let log = server.log_text();
    assert!(
        log.contains("disk is full"),
        "the log says why: {}",
        error_lines(&log)
    );

    // More writes while full: a clear 503 (or, if it fits after all, a 201), never a 500.
    for extra in 0..3 {
        let n = 10_000 + extra;
        let r = client.post(&path, &big_customer(n));
        match r.status {
            201 => created.push((r.body["id"].as_i64().unwrap(), n)),
            503 => assert!(r.body["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("Storage full"))),
            _ => panic!(
                "write on a full disk answered {}: {}\nlog:\n{}",
                r.status,
                r.text,
                error_lines(&server.log_text())
            ),
        }
    }

    // Nothing half-written: counts agree with the 201s, the failed email is unknown.
    let expect = created.len() as i64;
    assert_eq!(client.customer_counts(), (expect, expect));
    let r = client.get(&format!("{path}?search=fill{failed_n}@example.com"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["pagination"]["count"], 0, "{}", r.text);
    {
        let conn = open_db(&env.db);
        assert_eq!(count(&conn, "SELECT count(*) FROM customers", []), expect);
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM customers WHERE email = ?1",
                [format!("fill{failed_n}@example.com")]
            ),
            0
        );
    }
    // Reads keep working.
    let (first_id, first_n) = created[0];
    let r = client.get(&format!("{path}/{first_id}"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["metadata"]["n"], first_n);
    let r = client.get(&format!("{path}?items=100"));
    assert_eq!(r.status, 200, "{}", r.text);

    // More room: the same request now succeeds, without a restart.
    mount.resize("64m");
    let r = client.post(&path, &big_customer(failed_n));
    assert_eq!(
        r.status,
        201,
        "after the disk grew: {}\nlog:\n{}",
        r.text,
        error_lines(&server.log_text())
    );
    created.push((r.body["id"].as_i64().unwrap(), failed_n));
    for n in 20_000..20_005 {
        let r = client.post(&path, &big_customer(n));
        assert_eq!(r.status, 201, "{}", r.text);
        created.push((r.body["id"].as_i64().unwrap(), n));
    }
    let expect = created.len() as i64;
    assert_eq!(client.customer_counts(), (expect, expect));
    let r = client.get(&format!("{path}?search=fill{failed_n}@example.com"));
    assert_eq!(r.body["pagination"]["count"], 1, "{}", r.text);

    server.stop();
    assert!(
        !server.log_text().contains("internal error"),
        "{}",
        error_lines(&server.log_text())
    );
    let conn = open_db(&env.db);
    assert_eq!(integrity_check(&conn), "ok");
    assert_eq!(count(&conn, "SELECT count(*) FROM customers", []), expect);
    drop(conn);
    drop(server);
    drop(mount);
    eprintln!(
        "full disk test: the 3 MiB disk took {} customers before a 503",
        failed_n
    );
}
