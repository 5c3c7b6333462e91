//! What reaches the real binary's log: Wallet log reports bounded and escaped, an
//! access log without query strings or secret links, and malformed requests below
//! ERROR.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{answer_status, connect_from, loopback};
use crate::support::binary::{first_start, Env, Server};

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

/// The access log shows method, path, status, size and time — without query strings
/// and with the secret segment of every public link replaced.
#[test]
fn the_access_log_keeps_no_query_strings_or_secret_links() {
    let env = Env::new(&[]);
    let (server, client) = first_start(&env);
    let card = client.create_card("Coffee");
    let r = client.post(
        &client.store_path("/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "ann.secret@example.com"}, "card_id": card}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let uuid = r.body["customer_card"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client.post(
        &client.store_path("/posters"),
        &json!({"poster": {"card_id": card, "title": "Join"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let signup_url = r.body["signup_url"].as_str().unwrap().to_string();
    let token = signup_url.rsplit('/').next().unwrap().to_string();
    let device = "device0123456789";

    let get = |path: &str| {
        let _ = client.try_send("GET", path, None, None, &[]);
    };
    let searched = client.store_path("/customers?search=ann.secret%40example.com");
    client.get(&searched);
    get(&format!("/c/{uuid}"));
    get(&format!("/c/{uuid}?joined=new"));
    get(&format!("/c/{uuid}/qr.svg"));
    get(&format!("/s/{token}"));
    get(&format!("/posters/{token}"));
    get(&format!("/passes/{uuid}.pkpass"));
    get(&format!("/passes/{uuid}/google"));
    get(&format!(
        "/passes/v1/devices/{device}/registrations/pass.test?passesUpdatedSince=1"
    ));
    get(&format!("/passes/v1/passes/pass.test/{uuid}"));
    let _ = client.try_send(
        "POST",
        &format!("/passes/v1/devices/{device}/registrations/pass.test/{uuid}"),
        None,
        Some(&json!({"pushToken": "t"})),
        &[],
    );
    let log = log_with(&server, "/passes/v1/passes/");
    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("actix_web::middleware::logger"))
        .collect();
    for secret in [
        uuid.as_str(),
        token.as_str(),
        device,
        "ann.secret",
        "passesUpdatedSince",
        "joined=",
        "?",
    ] {
        let leaks: Vec<&&str> = access.iter().filter(|l| l.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "{secret:?} is in the access log: {leaks:?}"
        );
    }
    for shown in [
        format!(
            "\"GET /api/v1/accounts/{}/customers HTTP/1.1\" 200",
            client.store_id
        ),
        "\"GET /c/{secret} HTTP/1.1\" 200".to_string(),
        "\"GET /c/{secret}/qr.svg HTTP/1.1\" 200".to_string(),
        "\"GET /s/{secret} HTTP/1.1\" 200".to_string(),
        "\"GET /posters/{secret} HTTP/1.1\" 200".to_string(),
        "\"GET /passes/{secret}.pkpass HTTP/1.1\" 302".to_string(),
        "\"GET /passes/{secret}/google HTTP/1.1\" 302".to_string(),
        "\"GET /passes/v1/devices/{secret}/registrations/{secret} HTTP/1.1\"".to_string(),
        "\"POST /passes/v1/devices/{secret}/registrations/{secret}/{secret} HTTP/1.1\"".to_string(),
    ] {
        assert!(
            access.iter().any(|l| l.contains(&shown)),
            "no access log line with {shown}:\n{}",
            access.join("\n")
        );
    }
}

/// A malformed request is the client's error: 400, logged at INFO, never at ERROR.
#[test]
fn malformed_requests_are_not_logged_as_errors() {
    let env = Env::new(&[]);
    let server = Server::start(&env);
    for request in [
        &b"GARBAGE /\r\nno header here\r\n\r\n"[..],
        &b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..],
    ] {
        let mut stream = connect_from(loopback(1), server.port).expect("connect");
        stream.write_all(request).expect("send");
        assert_eq!(
            answer_status(&mut stream, Duration::from_secs(5)),
            Ok(Some(400))
        );
    }
    let log = log_with(&server, "request parse error");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "logged as errors: {errors:?}");
    assert!(
        log.lines()
            .any(|l| l.contains(" INFO ") && l.contains("request parse error")),
        "{log}"
    );
}
