//! Per-token rate limits: `RateLimit-*` headers on every response to a request with a
//! token, 429 with `Retry-After` past the limit, the setting shown by `/status`.

use serde_json::json;

use crate::stamps::{card, enrol};
use crate::support::app::*;

fn num(r: &Resp, name: &str) -> u64 {
    let v = r
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers));
    v.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name}: {v:?} is not a number"))
}

fn status(app: &TestApp) -> Resp {
    let r = app.request("GET", "/api/v1/status", None, None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn per_minute(app: &TestApp) -> u64 {
    let r = status(app);
    r.body["rate_limit"]["requests_per_minute"]
        .as_u64()
        .unwrap_or_else(|| panic!("rate_limit.requests_per_minute: {}", r.text))
}

#[test]
fn status_shows_the_configured_limit() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 5);
    assert_eq!(status(&app).body["rate_limit"]["requests_per_minute"], 5);

    let off = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    assert_eq!(per_minute(&off), 0);

    // The default is on, and generous.
    let default = spawn_app();
    let limit = per_minute(&default);
    assert!(
        limit >= 120,
        "a busy shop must never hit the default limit, got {limit}"
    );
    let r = default.get("/api/v1/accounts");
    assert_eq!(num(&r, "RateLimit-Limit"), limit);
}

#[test]
fn headers_count_down_and_the_request_past_the_limit_is_429() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 5);
    let path = app.store_path("");

    let mut remaining = Vec::new();
    for i in 0..5 {
        let r = app.get(&path);
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
        assert_eq!(num(&r, "RateLimit-Limit"), 5);
        let reset = num(&r, "RateLimit-Reset");
        assert!(reset <= 60, "reset within the minute: {reset}");
        remaining.push(num(&r, "RateLimit-Remaining"));
    }
    assert_eq!(remaining, vec![4, 3, 2, 1, 0]);

    let r = app.get(&path);
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(
        r.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "a JSON error: {}",
        r.text
    );
    let retry = num(&r, "Retry-After");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(num(&r, "RateLimit-Limit"), 5);
    assert_eq!(num(&r, "RateLimit-Remaining"), 0);
    assert!(num(&r, "RateLimit-Reset") >= 1);

    // Writes are limited too.
    let r = app.post(&app.store_path("/cards"), &json!({"card": {"name": "X"}}));
    assert_eq!(r.status, 429, "{}", r.text);
}

#[test]
fn limits_are_per_token() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 5);
    let other = app.token_for(&[app.store_id]);
    for _ in 0..5 {
        assert_eq!(app.get(&app.store_path("")).status, 200);
    }
    assert_eq!(app.get(&app.store_path("")).status, 429);

    let r = app.request("GET", &app.store_path(""), Some(&other), None, None);
    assert_eq!(
        r.status, 200,
        "another token has its own budget: {}",
        r.text
    );
    assert_eq!(num(&r, "RateLimit-Remaining"), 4);
}

#[test]
fn a_limited_stamp_is_not_given() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 5);
    // Set up with one token, stamp with another.
    let cc = enrol(&app, card(&app, 10, json!({})));
    let tablet = app.token_for(&[app.store_id]);
    let stamp = || {
        app.request(
            "POST",
            &cc.path(&app, "/stamp"),
            Some(&tablet),
            Some("application/json"),
            Some(r#"{"stamps": 1}"#),
        )
    };
    for i in 0..5 {
        let r = stamp();
        assert_eq!(r.status, 200, "stamp {i}: {}", r.text);
        assert!(r.header("RateLimit-Remaining").is_some());
    }
    let r = stamp();
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("Retry-After").is_some(), "{:?}", r.headers);
    assert_eq!(cc.db_count(&app), 5, "the limited stamp was not given");
    assert_eq!(cc.ledger_rows(&app).len(), 5);
}

#[test]
fn error_answers_to_requests_with_a_token_carry_the_headers() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 5);
    let r = app.get(&app.store_path("/customers/999999"));
    assert_eq!(r.status, 404);
    assert_eq!(num(&r, "RateLimit-Limit"), 5);
    assert_eq!(num(&r, "RateLimit-Remaining"), 4);
    let r = app.post(&app.store_path("/customers"), &json!({"customer": {}}));
    assert_eq!(r.status, 422);
    assert_eq!(num(&r, "RateLimit-Remaining"), 3);
}

#[test]
fn status_needs_no_token_and_is_not_limited() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 5);
    for _ in 0..12 {
        status(&app);
    }
}

#[test]
fn zero_turns_limits_off() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    for i in 0..40 {
        let r = app.get(&app.store_path(""));
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
    }
}
