//! What reaches the real binary's log: Wallet log reports bounded and escaped.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::binary::{Env, Server};

/// The log of `server` once it contains `needle` (waits up to 10 s).
fn log_with(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.log_text();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "the log never showed {needle:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn post_raw(server: &Server, path: &str, body: &str) -> u16 {
    match ureq::post(&server.url(path))
        .set("Content-Type", "application/json")
        .timeout(Duration::from_secs(10))
        .send_string(body)
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(e) => panic!("POST {path}: {e}"),
    }
}

/// 500 Wallet log reports of 20 messages of 1,000 characters each (10 MB of log before)
/// write a bounded amount of log: reports are limited per address, each is cut to a few
/// short messages, logged at INFO one line each with control characters escaped.
#[test]
fn a_flood_of_wallet_log_reports_writes_a_bounded_log() {
    let env = Env::new(&[]);
    let server = Server::start(&env);
    let before = server.log_text().len();
    let forged = "pass ok\n[2030-01-01T00:00:00Z ERROR stampd] forged \u{202e}line\u{7}";
    let mut messages = vec![json!(forged)];
    messages.extend((0..19).map(|i| json!(format!("{i:02}{}", "x".repeat(998)))));
    let body = json!({ "logs": messages }).to_string();
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..500 {
        *statuses
            .entry(post_raw(&server, "/passes/v1/log", &body))
            .or_insert(0) += 1;
    }
    assert!(statuses.get(&200).is_some_and(|n| *n >= 1), "{statuses:?}");
    assert!(
        statuses.get(&429).is_some_and(|n| *n >= 400),
        "the reports were not limited: {statuses:?}"
    );
    let log = log_with(&server, "Apple Wallet reports");
    let written = log.len() - before;
    assert!(
        written < 200_000,
        "500 reports wrote {written} bytes of log ({statuses:?})"
    );
    let reports: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Apple Wallet reports"))
        .collect();
    assert!(
        reports.iter().all(|l| l.contains(" INFO ")),
        "not at INFO: {:?}",
        reports.first()
    );
    assert!(
        reports.iter().all(|l| l.len() < 700),
        "a message was not cut short"
    );
    // The forged line stays inside its own line, escaped.
    assert!(
        log.contains(r#"Apple Wallet reports: "pass ok\n[2030-01-01T00:00:00Z ERROR stampd] forged \u{202e}line\u{7}""#),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("[2030-01-01")),
        "a message forged a line of the log"
    );
}
