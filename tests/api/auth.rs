//! Authentication (API.md section 1): bearer tokens, 401 bodies, and store isolation
//! (a store the token may not reach answers exactly like a store that does not exist).

use serde_json::{json, Value};

use crate::support::app::*;

const UNAUTHORIZED: &str = "Unauthorized – invalid or missing API token";

fn assert_unauthorized(r: &Resp, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text);
    assert_eq!(r.body, json!({ "error": UNAUTHORIZED }), "{what}");
    assert!(
        r.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{what}: {:?}",
        r.headers
    );
}

/// A request with `token` and an optional JSON body.
fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Option<&Value>) -> Resp {
    let text = body.map(|b| b.to_string());
    app.request(
        method,
        path,
        Some(token),
        body.map(|_| "application/json"),
        text.as_deref(),
    )
}

#[test]
fn missing_token_is_401_on_reads_and_writes() {
    let app = spawn_app();
    let cases = [
        ("GET", "/api/v1/accounts".to_string(), None),
        ("GET", app.store_path(""), None),
        ("GET", app.store_path("/cards"), None),
        ("GET", app.store_path("/customers"), None),
        (
            "POST",
            app.store_path("/customers"),
            Some(r#"{"customer": {"first_name": "Ann", "email": "ann@example.com"}}"#),
        ),
        (
            "POST",
            app.store_path("/cards"),
            Some(r#"{"card": {"name": "Coffee"}}"#),
        ),
        (
            "PATCH",
            app.store_path(""),
            Some(r#"{"account": {"name": "Hacked"}}"#),
        ),
    ];
    for (method, path, body) in cases {
        let ct = body.map(|_| "application/json");
        let r = app.request(method, &path, None, ct, body);
        assert_unauthorized(&r, &format!("{method} {path}"));
    }
    // Nothing was written without a token.
    let store = app.get(&app.store_path(""));
    assert_eq!(store.body["name"], "Test Store");
    assert_eq!(store.body["customers_count"], 0);
    assert_eq!(store.body["cards_count"], 0);
}

#[test]
fn malformed_authorization_headers_are_401() {
    let app = spawn_app();
    let wrong_scheme = format!("Token {}", app.token);
    let basic_with_token = format!("Basic {}", app.token);
    let glued = format!("Bearer{}", app.token);
    let headers = [
        "Token x",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        wrong_scheme.as_str(),
        basic_with_token.as_str(),
        glued.as_str(),
        app.token.as_str(),
    ];
    for h in headers {
        let r = app.request_with_headers(
            "GET",
            "/api/v1/accounts",
            None,
            None,
            None,
            &[("Authorization", h)],
        );
        assert_unauthorized(&r, &format!("Authorization: {h:?}"));
    }
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    // RFC 7235: auth schemes are case-insensitive.
    let app = spawn_app();
    let h = format!("bearer {}", app.token);
    let r = app.request_with_headers(
        "GET",
        "/api/v1/accounts",
        None,
        None,
        None,
        &[("Authorization", &h)],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[0]["id"], app.store_id);
}

#[test]
fn unknown_token_is_401() {
    let app = spawn_app();
    let almost = format!("{}x", app.token);
    for t in [
        "stampd_000000000000000000000000000000000000000000000000",
        "nonsense",
        almost.as_str(),
    ] {
        let r = app.request("GET", "/api/v1/accounts", Some(t), None, None);
        assert_unauthorized(&r, t);
        let r = app.request("GET", &app.store_path(""), Some(t), None, None);
        assert_unauthorized(&r, t);
    }
}

#[test]
fn revoked_token_is_401_at_once_and_other_tokens_still_work() {
    let app = spawn_app();
    let (b, token_b) = app.new_store("Store B");
    let r = app.request("GET", "/api/v1/accounts", Some(&token_b), None, None);
    assert_eq!(r.status, 200, "{}", r.text);

    let conn = app.conn();
    let tokens = stampd::db::tokens::list(&conn).expect("list tokens");
    let ids: Vec<i64> = tokens
        .iter()
        .filter(|t| t.store_ids == vec![b])
        .map(|t| t.id)
        .collect();
    assert_eq!(ids.len(), 1, "exactly one token reaches store B");
    assert!(stampd::db::tokens::revoke(&conn, ids[0]).expect("revoke"));
    // Revoking twice reports that there was no live token.
    assert!(!stampd::db::tokens::revoke(&conn, ids[0]).expect("revoke again"));

    let path = format!("/api/v1/accounts/{b}");
    let r = app.request("GET", "/api/v1/accounts", Some(&token_b), None, None);
    assert_unauthorized(&r, "GET /accounts after revoke");
    let r = app.request("GET", &path, Some(&token_b), None, None);
    assert_unauthorized(&r, "GET store after revoke");
    let r = call(
        &app,
        "POST",
        &format!("{path}/cards"),
        &token_b,
        Some(&json!({"card": {"name": "Coffee"}})),
    );
    assert_unauthorized(&r, "POST card after revoke");

    // The token of the other store is untouched.
    let r = app.get("/api/v1/accounts");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body.as_array().map(Vec::len), Some(1));
    assert_eq!(r.body[0]["id"], app.store_id);
}

/// Every path of a store, with a body for the writes. `{S}` is the store id.
fn store_paths(
    card: i64,
    customer: i64,
    cc: i64,
    reward: i64,
) -> Vec<(&'static str, String, Option<Value>)> {
    let cust = format!("/customers/{customer}");
    let ccp = format!("{cust}/customer_cards/{cc}");
    vec![
        ("GET", String::new(), None),
        (
            "PATCH",
            String::new(),
            Some(json!({"account": {"name": "Hacked"}})),
        ),
        (
            "PUT",
            String::new(),
            Some(json!({"account": {"store_name": "Hacked"}})),
        ),
        ("GET", "/cards".into(), None),
        ("GET", "/cards?scope=all".into(), None),
        ("GET", format!("/cards/{card}"), None),
        (
            "POST",
            "/cards".into(),
            Some(json!({"card": {"name": "Intruder"}})),
        ),
        (
            "PATCH",
            format!("/cards/{card}"),
            Some(json!({"card": {"name": "Hacked", "archived": true}})),
        ),
        (
            "PUT",
            format!("/cards/{card}"),
            Some(json!({"card": {"name": "Hacked"}})),
        ),
        ("GET", "/customers".into(), None),
        ("GET", "/customers?search=bea".into(), None),
        ("GET", cust.clone(), None),
        (
            "POST",
            "/customers".into(),
            Some(
                json!({"customer": {"first_name": "Eve", "email": "eve@example.com"}, "card_id": card}),
            ),
        ),
        (
            "PATCH",
            cust.clone(),
            Some(json!({"customer": {"first_name": "Hacked", "email": "eve@example.com"}})),
        ),
        (
            "PUT",
            cust.clone(),
            Some(json!({"customer": {"last_name": "Hacked"}})),
        ),
        ("GET", format!("{cust}/customer_cards"), None),
        ("GET", ccp.clone(), None),
        ("POST", format!("{ccp}/stamp"), Some(json!({"stamps": 5}))),
        (
            "POST",
            format!("{ccp}/redeem"),
            Some(json!({"reward_id": reward})),
        ),
        ("GET", format!("{ccp}/events"), None),
        ("GET", "/rewards".into(), None),
        ("GET", format!("/rewards/{reward}"), None),
        (
            "POST",
            "/rewards".into(),
            Some(json!({"reward": {"card_id": card, "name": "Intruder", "stamps_required": 1}})),
        ),
        (
            "PATCH",
            format!("/rewards/{reward}"),
            Some(json!({"reward": {"name": "Hacked", "active": false}})),
        ),
        ("DELETE", format!("/rewards/{reward}"), None),
    ]
}

/// Everything store `b` holds, as its own token sees it.
fn snapshot(
    app: &TestApp,
    b: i64,
    token: &str,
    card: i64,
    customer: i64,
    cc: i64,
    reward: i64,
) -> Vec<Value> {
    let base = format!("/api/v1/accounts/{b}");
    let cust = format!("{base}/customers/{customer}");
    [
        base.clone(),
        format!("{base}/cards?scope=all"),
        format!("{base}/cards/{card}"),
        format!("{base}/customers"),
        cust.clone(),
        format!("{cust}/customer_cards"),
        format!("{cust}/customer_cards/{cc}"),
        format!("{cust}/customer_cards/{cc}/events"),
        format!("{base}/rewards"),
        format!("{base}/rewards/{reward}"),
    ]
    .iter()
    .map(|p| {
        let r = app.request("GET", p, Some(token), None, None);
        assert_eq!(r.status, 200, "GET {p}: {}", r.text);
        r.body
    })
    .collect()
}

#[test]
fn a_token_gets_404_for_every_path_of_another_store_and_changes_nothing() {
    let app = spawn_app();
    let (b, token_b) = app.new_store("Store B");
    let base_b = format!("/api/v1/accounts/{b}");

    let r = call(
        &app,
        "POST",
        &format!("{base_b}/cards"),
        &token_b,
        Some(&json!({"card": {"name": "B card", "stamps_required": 5}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let card = r.body["id"].as_i64().expect("card id");
    let r = call(
        &app,
        "POST",
        &format!("{base_b}/customers"),
        &token_b,
        Some(
            &json!({"customer": {"first_name": "Bea", "email": "bea@example.com"}, "card_id": card}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let customer = r.body["id"].as_i64().expect("customer id");
    let cc = r.body["customer_card"]["id"]
        .as_i64()
        .expect("customer card id");
    let r = call(
        &app,
        "POST",
        &format!("{base_b}/rewards"),
        &token_b,
        Some(&json!({"reward": {"card_id": card, "name": "Free coffee", "stamps_required": 1}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let reward = r.body["id"].as_i64().expect("reward id");
    let r = call(
        &app,
        "POST",
        &format!("{base_b}/customers/{customer}/customer_cards/{cc}/stamp"),
        &token_b,
        Some(&json!({"stamps": 2})),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    let before = snapshot(&app, b, &token_b, card, customer, cc, reward);
    let missing = b + 1000;

    for (method, rest, body) in store_paths(card, customer, cc, reward) {
        let path = format!("/api/v1/accounts/{b}{rest}");
        let r = call(&app, method, &path, &app.token, body.as_ref());
        assert_eq!(
            r.status, 404,
            "{method} {path} with store A's token: {}",
            r.text
        );
        // Indistinguishable from a store that does not exist.
        let ghost = format!("/api/v1/accounts/{missing}{rest}");
        let g = call(&app, method, &ghost, &app.token, body.as_ref());
        assert_eq!(g.status, 404, "{method} {ghost}: {}", g.text);
        assert_eq!(r.body, g.body, "{method} {path} vs {ghost}");
        assert!(r.body["error"].is_string(), "{method} {path}: {}", r.text);
    }

    let after = snapshot(&app, b, &token_b, card, customer, cc, reward);
    assert_eq!(before, after, "store B changed");
    assert_eq!(after[0]["name"], "Store B");
    assert_eq!(after[0]["cards_count"], 1);
    assert_eq!(after[0]["customers_count"], 1);
    assert_eq!(after[6]["stamps_count"], 2);

    // Nor did anything land in store A.
    let a = app.get(&app.store_path(""));
    assert_eq!(a.body["cards_count"], 0);
    assert_eq!(a.body["customers_count"], 0);
    assert_eq!(a.body["name"], "Test Store");
    let cards = app.get(&app.store_path("/cards?scope=all"));
    assert_eq!(cards.body, json!([]));
}

#[test]
fn a_store_that_does_not_exist_is_404() {
    let app = spawn_app();
    for path in [
        "/api/v1/accounts/999999",
        "/api/v1/accounts/999999/cards",
        "/api/v1/accounts/999999/customers",
        "/api/v1/accounts/999999/customers/1",
        "/api/v1/accounts/0",
        "/api/v1/accounts/9223372036854775807",
        "/api/v1/accounts/99999999999999999999999",
    ] {
        let r = app.get(path);
        assert_eq!(r.status, 404, "GET {path}: {}", r.text);
        assert!(r.body["error"].is_string(), "GET {path}: {}", r.text);
    }
    let r = app.patch(
        "/api/v1/accounts/999999",
        &json!({"account": {"name": "X"}}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
}

#[test]
fn a_non_integer_account_id_is_404() {
    let app = spawn_app();
    let id = app.store_id;
    for path in [
        "/api/v1/accounts/abc".to_string(),
        format!("/api/v1/accounts/{id}abc"),
        format!("/api/v1/accounts/{id}.0"),
        "/api/v1/accounts/-1".to_string(),
        format!("/api/v1/accounts/+{id}"),
        "/api/v1/accounts/abc/cards".to_string(),
        "/api/v1/accounts/abc/customers".to_string(),
        format!("/api/v1/accounts/{id}x/customers"),
    ] {
        let r = app.get(&path);
        assert_eq!(r.status, 404, "GET {path}: {}", r.text);
        assert!(r.body["error"].is_string(), "GET {path}: {}", r.text);
    }
    let r = app.post(
        "/api/v1/accounts/abc/cards",
        &json!({"card": {"name": "Coffee"}}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(app.get(&app.store_path("")).body["cards_count"], 0);
}

fn ids(v: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| s["id"].as_i64().expect("id"))
        .collect();
    ids.sort();
    ids
}

#[test]
fn accounts_lists_exactly_the_stores_of_the_token() {
    let app = spawn_app();
    let a = app.store_id;
    let (b, token_b) = app.new_store("Store B");
    let (_c, _token_c) = app.new_store("Store C");
    let both = app.token_for(&[a, b]);

    let r = app.request("GET", "/api/v1/accounts", Some(&both), None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), vec![a, b]);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Test Store") && names.contains(&"Store B"),
        "{names:?}"
    );
    // Both stores are reachable with it.
    for s in [a, b] {
        let r = app.request(
            "GET",
            &format!("/api/v1/accounts/{s}"),
            Some(&both),
            None,
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["id"], s);
    }

    let r = app.get("/api/v1/accounts");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), vec![a]);
    assert_eq!(r.body[0]["name"], "Test Store");

    let r = app.request("GET", "/api/v1/accounts", Some(&token_b), None, None);
    assert_eq!(ids(&r.body), vec![b]);
    assert_eq!(r.body[0]["name"], "Store B");
}

#[test]
fn status_works_without_a_token() {
    let app = spawn_app();
    let r = app.request("GET", "/api/v1/status", None, None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["api_version"], "v1");
    assert!(
        r.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    // A bad token does not matter there either.
    let r = app.request("GET", "/api/v1/status", Some("nonsense"), None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
}

#[test]
fn cors_is_off_by_default_and_follows_the_configured_origins() {
    let app = spawn_app();
    let r = app.request_with_headers(
        "GET",
        "/api/v1/accounts",
        Some(&app.token),
        None,
        None,
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let app = spawn_app_with(|s| s.cors_allowed_origins = vec!["https://shop.example".into()]);
    let pre = app.request_with_headers(
        "OPTIONS",
        "/api/v1/accounts",
        None,
        None,
        None,
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization, idempotency-key",
            ),
        ],
    );
    assert_eq!(pre.status, 200, "{}", pre.text);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let r = app.request_with_headers(
        "GET",
        "/api/v1/accounts",
        Some(&app.token),
        None,
        None,
        &[("Origin", "https://shop.example")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let r = app.request_with_headers(
        "GET",
        "/api/v1/accounts",
        Some(&app.token),
        None,
        None,
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(r.header("access-control-allow-origin"), None, "{}", r.text);
    // The server's own pages (same host) are never refused.
    let own = format!("http://127.0.0.1:{}", app.port);
    let r = app.request_with_headers(
        "GET",
        "/api/v1/accounts",
        Some(&app.token),
        None,
        None,
        &[("Origin", own.as_str())],
    );
    assert_eq!(r.status, 200, "{}", r.text);
}
