//! Hostile input: a corpus of bodies that try to break the server, sent to every POST,
//! PATCH and PUT endpoint of `api_route_list()`, plus slow clients.
//!
//! Every answer must be a 4xx JSON error with an `error` string — or a success where the
//! input is in fact valid — never a 5xx, never a hang (every request has a timeout), and
//! the server must still answer afterwards. Text is stored verbatim (SQL and HTML
//! metacharacters included) and escaped on the public web card page.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::app::{spawn_app, spawn_app_with, Resp, TestApp};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Ids of real data, so that hostile bodies reach the handlers' parsing and validation.
struct Data {
    card: i64,
    reward: i64,
    customer: i64,
    customer_card: i64,
    location: i64,
    poster: i64,
    /// A webhook subscription (to a name that never resolves) and one of its tries.
    webhook: i64,
    delivery: i64,
    /// A staff member and a paired device.
    staff: i64,
    device: i64,
}

fn seed(app: &TestApp) -> Data {
    let r = app.post(
        &app.store_path("/cards"),
        &json!({"card": {"name": "Coffee", "stamps_required": 10}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let card = r.body["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/rewards"),
        &json!({"reward": {"card_id": card, "name": "Free coffee", "stamps_required": 2}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let reward = r.body["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": card}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let customer = r.body["id"].as_i64().unwrap();
    let customer_card = r.body["customer_card"]["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/locations"),
        &json!({"location": {"name": "Main St", "address": "1 Main St"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let location = r.body["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/posters"),
        &json!({"poster": {"card_id": card, "title": "Join us"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let poster = r.body["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/webhook_subscriptions"),
        &json!({"target_url": "https://hooks.invalid/in", "events": ["*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook = r.body["id"].as_i64().unwrap();
    let test = app.store_path(&format!("/webhook_subscriptions/{webhook}/test"));
    assert_eq!(app.post(&test, &json!({})).status, 200);
    let tries =
        app.get_ok(&app.store_path(&format!("/webhook_subscriptions/{webhook}/deliveries")));
    let staff = crate::staff::add_staff(app, "Sam", "1234", "staff");
    let (_, device) = crate::staff::pair_device(app, "Tablet");
    Data {
        staff,
        device,
        card,
        reward,
        customer,
        customer_card,
        location,
        poster,
        webhook,
        delivery: tries["deliveries"][0]["id"].as_i64().unwrap(),
    }
}

/// One body-taking endpoint: method, concrete path, and where its attributes go.
struct Endpoint {
    method: String,
    path: String,
    /// The root key of its attributes (`customer`, ...), or `None` for action
    /// parameters at the top level (stamp, redeem, send_card_links).
    root: Option<&'static str>,
    /// A text field with a length limit, and the limit.
    text_field: (&'static str, usize),
    /// A numeric field.
    int_field: &'static str,
}

/// Every POST, PATCH and PUT route, with the ids of `data` filled in.
fn endpoints(app: &TestApp, data: &Data) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for (template, method) in stampd::api::api_route_list() {
        if !matches!(method.as_str(), "POST" | "PATCH" | "PUT") {
            continue;
        }
        // Imports take a CSV file, not JSON or a form: `transfers::csv` tests them.
        if template.ends_with("/imports") || template.ends_with("/imports/preview") {
            continue;
        }
        let segments: Vec<&str> = template.split('/').collect();
        let mut path = Vec::new();
        for (i, seg) in segments.iter().enumerate() {
            let id = match (*seg, segments.get(i.wrapping_sub(1)).copied()) {
                ("{account_id}", _) => app.store_id,
                ("{customer_id}", _) => data.customer,
                ("{id}", Some("cards")) => data.card,
                ("{id}", Some("rewards")) => data.reward,
                ("{id}", Some("customers")) => data.customer,
                ("{id}", Some("customer_cards")) => data.customer_card,
                ("{id}", Some("locations")) => data.location,
                ("{id}", Some("posters")) => data.poster,
                ("{id}", Some("webhook_subscriptions")) => data.webhook,
                ("{id}", Some("staff")) => data.staff,
                ("{id}", Some("devices")) => data.device,
                ("{delivery_id}", _) => data.delivery,
                (s, _) if s.starts_with('{') => panic!("hostile.rs: no data for {s} in {template}"),
                (s, _) => {
                    path.push(s.to_string());
                    continue;
                }
            };
            path.push(id.to_string());
        }
        let last = segments.last().copied().unwrap_or("");
        let parent = segments.iter().rev().find(|s| !s.starts_with('{')).copied();
        let (root, text_field, int_field) = match (last, parent) {
            ("stamp", _) => (None, ("note", 500), "stamps"),
            ("redeem", _) => (None, ("note", 500), "reward_id"),
            ("send_card_links", _) => (None, ("note", usize::MAX), "customer_card_id"),
            ("rotate_secret" | "test" | "redeliver", _) => (None, ("note", usize::MAX), "id"),
            ("unlock", _) => (None, ("note", usize::MAX), "id"),
            ("sessions", _) => (None, ("pin", usize::MAX), "id"),
            ("pair", _) => (None, ("code", usize::MAX), "id"),
            ("pairing_codes", _) => (None, ("name", 100), "id"),
            (_, Some("staff")) => (Some("staff"), ("name", 100), "active"),
            (_, Some("webhook_subscriptions")) => (
                Some("webhook_subscription"),
                ("description", 255),
                "enabled",
            ),
            ("customer_cards", _) => (None, ("note", usize::MAX), "card_id"),
            (_, Some("accounts")) => (Some("account"), ("name", 100), "id"),
            (_, Some("cards")) => (Some("card"), ("name", 100), "stamps_required"),
            (_, Some("rewards")) => (Some("reward"), ("name", 100), "stamps_required"),
            (_, Some("customers")) => (Some("customer"), ("first_name", 100), "card_id"),
            (_, Some("locations")) => (Some("location"), ("address", 255), "latitude"),
            (_, Some("posters")) => (Some("poster"), ("title", 100), "card_id"),
            _ => panic!("hostile.rs: what does {method} {template} take?"),
        };
        out.push(Endpoint {
            method: method.as_str().to_string(),
            path: path.join("/"),
            root,
            text_field,
            int_field,
        });
    }
    assert!(out.len() >= 10, "found only {} endpoints", out.len());
    out
}

impl Endpoint {
    /// Attributes wrapped in the root key, or as they are for action endpoints.
    fn wrap(&self, attrs: Value) -> Value {
        match self.root {
            Some(root) => json!({ root: attrs }),
            None => attrs,
        }
    }

    fn what(&self, case: &str) -> String {
        format!("{} {} [{case}]", self.method, self.path)
    }
}

/// Sends a raw body with a content type (`None`: no Content-Type header).
fn send(app: &TestApp, ep: &Endpoint, content_type: Option<&str>, body: &[u8]) -> Resp {
    let ct = content_type.map(|c| format!("Content-Type: {c}"));
    let headers: Vec<&str> = ct.iter().map(String::as_str).collect();
    app.raw(
        &app.raw_request(&ep.method, &ep.path, &headers, body),
        TIMEOUT,
    )
}

/// What is wrong with an answer that should be a 4xx JSON error with an `error` string
/// or a success: a 5xx, or an error without its JSON.
fn insane(r: &Resp, what: &str) -> Option<String> {
    if r.status >= 500 {
        return Some(format!("{what}: server error {} {}", r.status, r.text));
    }
    if r.status >= 400 {
        if !r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
        {
            return Some(format!(
                "{what}: {} without a JSON body: {:?} {}",
                r.status, r.headers, r.text
            ));
        }
        if r.body["error"].as_str().unwrap_or("").is_empty() {
            return Some(format!("{what}: no error text in {}", r.text));
        }
    }
    None
}

/// A 4xx JSON error with an `error` string, or a success. Never a 5xx.
fn assert_sane(r: &Resp, what: &str) {
    if let Some(e) = insane(r, what) {
        panic!("{e}");
    }
}

fn assert_status(r: &Resp, status: u16, what: &str) {
    assert_sane(r, what);
    assert_eq!(r.status, status, "{what}: {}", r.text);
}

/// A 4xx error (not a success, not a 5xx).
fn assert_refused(r: &Resp, what: &str) {
    assert_sane(r, what);
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected a 4xx, got {} {}",
        r.status,
        r.text
    );
}

fn assert_alive(app: &TestApp) {
    let r = app.get("/api/v1/status");
    assert_eq!(r.status, 200, "the server stopped answering: {}", r.text);
}

#[test]
fn malformed_and_oversized_bodies_get_4xx_json_on_every_endpoint() {
    // Every body-taking route, many times over: more than a minute's allowance.
    let app = spawn_app_with(|s| {
        s.rate_limit_per_minute = 0;
        s.rate_limit_per_address_per_minute = 0;
    });
    let data = seed(&app);
    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    for ep in endpoints(&app, &data) {
        let deep_arrays = "[".repeat(10_000);
        let deep_objects = "{\"a\":".repeat(10_000);
        let deep_form_objects = format!("x{}=1", "[a]".repeat(20_000));
        let deep_form_arrays = format!("x{}=1", "[]".repeat(30_000));
        let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
            ("10k [", JSON, deep_arrays.clone().into_bytes(), 400),
            ("10k [ untyped", None, deep_arrays.into_bytes(), 415),
            ("10k {", JSON, deep_objects.into_bytes(), 400),
            ("form 20k levels", FORM, deep_form_objects.into_bytes(), 400),
            (
                "form 30k [] levels",
                FORM,
                deep_form_arrays.into_bytes(),
                400,
            ),
            ("bad JSON", JSON, b"{\"a\": ".to_vec(), 400),
            ("trailing garbage", JSON, b"{} x".to_vec(), 400),
            ("JSON array", JSON, b"[1, 2]".to_vec(), 400),
            ("JSON string", JSON, b"\"hello\"".to_vec(), 400),
            ("JSON null", JSON, b"null".to_vec(), 400),
            ("JSON number", JSON, b"12".to_vec(), 400),
            (
                "invalid UTF-8 JSON",
                JSON,
                b"{\"a\": \"\xff\xfe\"}".to_vec(),
                400,
            ),
            ("invalid UTF-8 form", FORM, b"a=\xff\xfe".to_vec(), 400),
            ("lone surrogate", JSON, br#"{"a": "\ud800"}"#.to_vec(), 400),
            (
                "number too big for JSON",
                JSON,
                b"{\"a\": 1e309}".to_vec(),
                400,
            ),
            ("BOM", JSON, b"\xef\xbb\xbf{}".to_vec(), 400),
            ("text/plain", Some("text/plain"), b"hello".to_vec(), 415),
            ("xml", Some("application/xml"), b"<a/>".to_vec(), 415),
            (
                "multipart",
                Some("multipart/form-data; boundary=x"),
                b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n".to_vec(),
                415,
            ),
            ("untyped garbage", None, b"hello there".to_vec(), 415),
            (
                "JSON sent as JSON with a bad charset",
                Some("application/json; charset=klingon"),
                b"{".to_vec(),
                400,
            ),
            ("form sent as JSON", JSON, b"a=1&b=2".to_vec(), 400),
            ("form key without a name", FORM, b"[a]=1".to_vec(), 400),
            ("form key unclosed", FORM, b"a[b=1".to_vec(), 400),
            ("form conflicting keys", FORM, b"a=1&a[b]=2".to_vec(), 400),
            (
                "over 64 KiB JSON",
                JSON,
                {
                    let mut b = b"{\"a\": \"".to_vec();
                    b.extend(std::iter::repeat_n(b'x', 70 * 1024));
                    b.extend_from_slice(b"\"}");
                    b
                },
                413,
            ),
            ("over 64 KiB form", FORM, vec![b'a'; 65 * 1024 + 1], 413),
        ];
        for (case, ct, body, status) in cases {
            let r = send(&app, &ep, ct, &body);
            assert_status(&r, status, &ep.what(case));
        }
        // Bodies that are fine as bodies: answered with a success or a 4xx.
        for (case, ct, body) in [
            ("empty JSON", JSON, &b""[..]),
            ("whitespace JSON", JSON, b"  \r\n "),
            ("empty form", FORM, b""),
            ("no body, no type", None, b""),
            ("empty object", JSON, b"{}"),
            ("untyped JSON", None, b"{}"),
            ("vendor JSON", Some("application/vnd.api+json"), b"{}"),
            (
                "JSON with charset",
                Some("application/json; charset=utf-8"),
                b"{}",
            ),
            ("odd JSON type case", Some("Application/JSON"), b"{}"),
            ("form of nothing", FORM, b"&&=&=x&"),
        ] {
            let r = send(&app, &ep, ct, body);
            assert_sane(&r, &ep.what(case));
        }
    }
    assert_alive(&app);
}

#[test]
fn hostile_values_get_4xx_json_on_every_endpoint() {
    // Every body-taking route, many times over: more than a minute's allowance.
    let app = spawn_app_with(|s| {
        s.rate_limit_per_minute = 0;
        s.rate_limit_per_address_per_minute = 0;
    });
    let data = seed(&app);
    for ep in endpoints(&app, &data) {
        let (text, limit) = ep.text_field;
        let int = ep.int_field;
        let json_send = |body: Value, case: &str| -> Resp {
            let r = send(
                &app,
                &ep,
                Some("application/json"),
                body.to_string().as_bytes(),
            );
            assert_sane(&r, &ep.what(case));
            r
        };
        // Over-long text, up to ~60 KiB, in characters of one and of several bytes.
        for (case, s) in [
            ("60 KiB string", "x".repeat(60 * 1024)),
            ("2 KiB string", "y".repeat(2048)),
            ("over the limit in é", "é".repeat(limit.min(2000) + 1)),
            ("over the limit in emoji", "😀".repeat(limit.min(2000) + 1)),
        ] {
            let r = json_send(ep.wrap(json!({ text: s })), case);
            if limit != usize::MAX {
                assert_refused(&r, &ep.what(case));
                if r.status == 422 {
                    let msgs = r.body["errors"][text].to_string();
                    if ep.int_field == "reward_id" || ep.int_field == "stamps" {
                        // The missing action parameter may be reported first.
                    } else {
                        assert!(msgs.contains("too long"), "{}: {}", ep.what(case), r.text);
                    }
                }
            }
        }
        // NUL bytes and control characters in text.
        for (case, s) in [
            ("NUL", "a\u{0}b"),
            ("only NUL", "\u{0}"),
            ("NUL at the end", "Ann\u{0}"),
        ] {
            let r = json_send(ep.wrap(json!({ text: s })), case);
            if limit != usize::MAX {
                assert_refused(&r, &ep.what(case));
            }
        }
        let r = send(
            &app,
            &ep,
            Some("application/x-www-form-urlencoded"),
            match ep.root {
                Some(root) => format!("{root}[{text}]=a%00b"),
                None => format!("{text}=a%00b"),
            }
            .as_bytes(),
        );
        assert_sane(&r, &ep.what("NUL in a form"));
        if limit != usize::MAX {
            assert_refused(&r, &ep.what("NUL in a form"));
        }
        // Numbers where integers are expected (raw, so that they reach serde_json as
        // written).
        for number in [
            "1e309",
            "-1e309",
            "-9223372036854775809",
            "9223372036854775808",
            "18446744073709551616",
            "99999999999999999999999999999999",
            "-9223372036854775808",
            "9223372036854775807",
            "1.5",
            "-0.5",
            "1e2",
            "1E-7",
            "-0",
            "0",
            "-1",
        ] {
            let body = match ep.root {
                Some(root) => format!("{{\"{root}\": {{\"{int}\": {number}}}}}"),
                None => format!("{{\"{int}\": {number}}}"),
            };
            let r = send(&app, &ep, Some("application/json"), body.as_bytes());
            assert_sane(&r, &ep.what(&format!("{int} = {number}")));
            if number.contains("e309") {
                assert_status(&r, 400, &ep.what(number));
            }
        }
        // Wrong JSON types, both ways.
        for (case, value) in [
            ("string for an integer", json!({ int: "abc" })),
            ("numeric string for an integer", json!({ int: " 7 " })),
            ("bool for an integer", json!({ int: true })),
            ("array for an integer", json!({ int: [1] })),
            ("object for an integer", json!({ int: {"a": 1} })),
            ("number for text", json!({ text: 12345 })),
            ("float for text", json!({ text: 1.5e300 })),
            ("bool for text", json!({ text: false })),
            ("array for text", json!({ text: ["a", "b"] })),
            ("object for text", json!({ text: {"a": "b"} })),
            ("null everywhere", json!({ text: null, int: null })),
        ] {
            json_send(ep.wrap(value), case);
        }
        if let Some(root) = ep.root {
            for (case, body) in [
                ("root is a string", json!({ root: "x" })),
                ("root is an array", json!({ root: [1, 2] })),
                ("root is null", json!({ root: null })),
                ("root is a number", json!({ root: 1 })),
            ] {
                json_send(body, case);
            }
        }
        // Duplicate keys (the last one counts, as in most JSON parsers).
        let body = match ep.root {
            Some(root) => format!(
                "{{\"{root}\": {{\"{text}\": \"a\"}}, \"{root}\": {{\"{text}\": \"b\", \"{text}\": \"c\"}}}}"
            ),
            None => format!("{{\"{int}\": 1, \"{int}\": 2, \"{text}\": \"a\", \"{text}\": \"b\"}}"),
        };
        let r = send(&app, &ep, Some("application/json"), body.as_bytes());
        assert_sane(&r, &ep.what("duplicate keys"));
        // Many keys, wide arrays, and JSON nested as deep as the parser allows.
        let wide: serde_json::Map<String, Value> =
            (0..3000).map(|i| (format!("k{i}"), json!(i))).collect();
        json_send(ep.wrap(Value::Object(wide)), "3000 keys");
        json_send(
            ep.wrap(json!({ text: vec![0; 20_000] })),
            "20k-element array",
        );
        let mut nested = json!("x");
        for _ in 0..100 {
            nested = json!({ "a": nested });
        }
        json_send(
            ep.wrap(json!({ text: nested.clone(), "metadata": nested })),
            "100 levels",
        );
        // An Idempotency-Key that is not one.
        for key in ["", " ", "\t", "é", &"k".repeat(256)] {
            let header = format!("Idempotency-Key: {key}");
            let r = app.raw(
                &app.raw_request(
                    &ep.method,
                    &ep.path,
                    &["Content-Type: application/json", &header],
                    b"{}",
                ),
                TIMEOUT,
            );
            assert_status(&r, 400, &ep.what(&format!("Idempotency-Key {key:?}")));
        }
        // A Content-Type header that is not text.
        let r = app.raw(
            &{
                let mut req = app.raw_request(&ep.method, &ep.path, &[], b"{}");
                // Insert a header with bytes that are not ASCII.
                let at = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
                req.splice(
                    at..at,
                    b"Content-Type: application/\xffjson\r\n".iter().copied(),
                );
                req
            },
            TIMEOUT,
        );
        assert_sane(&r, &ep.what("Content-Type not ASCII"));
    }
    assert_alive(&app);
}

#[test]
fn bodies_over_64_kib_are_413_however_they_are_sent() {
    // Every body-taking route, many times over: more than a minute's allowance.
    let app = spawn_app_with(|s| {
        s.rate_limit_per_minute = 0;
        s.rate_limit_per_address_per_minute = 0;
    });
    let data = seed(&app);
    for ep in endpoints(&app, &data) {
        // An import's file has a limit of its own (tests in `transfers::csv`).
        if ep.path.ends_with("/imports") || ep.path.ends_with("/imports/preview") {
            continue;
        }
        // Declared too large: refused before the body is read.
        let head = format!(
            "{} {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
            ep.method, ep.path, app.token
        );
        let r = app.raw(head.as_bytes(), TIMEOUT);
        assert_status(&r, 413, &ep.what("declared 10 MB"));
        // Chunked, without a length: refused once 64 KiB have arrived.
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            ep.method, ep.path, app.token
        )
        .into_bytes();
        for _ in 0..20 {
            req.extend_from_slice(b"1000\r\n");
            req.extend(std::iter::repeat_n(b' ', 0x1000));
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let r = app.raw(&req, TIMEOUT);
        assert_status(&r, 413, &ep.what("chunked 80 KiB"));
        // Exactly at the limit is fine as a body.
        let mut body = b"{}".to_vec();
        body.resize(64 * 1024, b' ');
        let r = send(&app, &ep, Some("application/json"), &body);
        assert_sane(&r, &ep.what("64 KiB of JSON"));
        assert_ne!(r.status, 413, "{}", ep.what("64 KiB of JSON"));
    }
    assert_alive(&app);
}

#[test]
fn sql_and_html_metacharacters_are_stored_verbatim_and_escaped_on_pages() {
    let app = spawn_app();
    let sql = "'; DROP TABLE customers; --";
    let html = "<script>alert(1)</script>";
    let both = "Robert'); DROP TABLE cards;-- <img src=x onerror=alert(1)> \" % _ \\ `";
    let r = app.post(
        &app.store_path("/cards"),
        &json!({"card": {"name": both, "header_text": html}}),
    );
    assert_status(&r, 201, "card");
    assert_eq!(r.body["name"], both);
    assert_eq!(r.body["header_text"], html);
    let card = r.body["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/rewards"),
        &json!({"reward": {"card_id": card, "name": html, "description": sql, "stamps_required": 1}}),
    );
    assert_status(&r, 201, "reward");
    assert_eq!(r.body["description"], sql);
    let reward = r.body["id"].as_i64().unwrap();
    let r = app.post(
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": sql, "last_name": html, "email": "x@example.com",
            "metadata": {sql: html}, "external_references": [{"source": html, "external_id": sql}]},
            "card_id": card}),
    );
    assert_status(&r, 201, "customer");
    let customer = r.body["id"].as_i64().unwrap();
    let cc = r.body["customer_card"]["id"].as_i64().unwrap();
    let uuid = r.body["customer_card"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    // Form bodies too.
    let form = format!(
        "customer[first_name]={}&customer[phone]=%2B14155550132",
        url_encode(html)
    );
    let r = app.send(
        "POST",
        &app.store_path("/customers"),
        Some(&app.token),
        Some("application/x-www-form-urlencoded"),
        Some(form.as_bytes()),
        &[],
    );
    assert_status(&r, 201, "customer by form");
    assert_eq!(r.body["first_name"], html);
    let path = format!("/customers/{customer}/customer_cards/{cc}");
    let r = app.post(
        &app.store_path(&format!("{path}/stamp")),
        &json!({"stamps": 2, "note": sql}),
    );
    assert_status(&r, 200, "stamp");
    let r = app.post(
        &app.store_path(&format!("{path}/redeem")),
        &json!({"reward_id": reward, "note": html}),
    );
    assert_status(&r, 200, "redeem");
    assert_eq!(r.body["redemption"]["reward_name"], html);

    // Read back verbatim.
    let r = app.get(&app.store_path(&format!("/customers/{customer}")));
    assert_status(&r, 200, "customer");
    assert_eq!(r.body["first_name"], sql);
    assert_eq!(r.body["last_name"], html);
    assert_eq!(r.body["metadata"], json!({ sql: html }));
    assert_eq!(
        r.body["external_references"][0],
        json!({"source": html, "external_id": sql, "metadata": {}})
    );
    let r = app.get(&app.store_path(&format!("{path}/events")));
    assert_status(&r, 200, "events");
    let notes: Vec<&Value> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["note"])
        .collect();
    assert!(
        notes.contains(&&json!(sql)) && notes.contains(&&json!(html)),
        "{notes:?}"
    );
    // Searching with metacharacters finds, and breaks nothing.
    for q in [
        sql,
        "'; DROP",
        "%",
        "_",
        "\"",
        "' OR '1'='1",
        "*",
        "NEAR(a b)",
        "a:b",
        "^x",
    ] {
        let r = app.get(&app.store_path(&format!("/customers?search={}", url_encode(q))));
        assert_status(&r, 200, &format!("search {q:?}"));
    }
    let r = app.get(&app.store_path(&format!("/customers?search={}", url_encode(sql))));
    assert_eq!(r.body["pagination"]["count"], 1, "{}", r.text);
    let r = app.get(&app.store_path(&format!(
        "/customers?source={}&external_id={}",
        url_encode(html),
        url_encode(sql)
    )));
    assert_eq!(r.body["customers"][0]["id"], customer, "{}", r.text);
    // The tables are all there.
    let r = app.get(&app.store_path("/customers"));
    assert_eq!(r.body["pagination"]["count"], 2, "{}", r.text);
    let r = app.get(&app.store_path("/cards"));
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);

    // The public web card page escapes what it shows.
    let r = app.send("GET", &format!("/c/{uuid}"), None, None, None, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !r.text.contains(html),
        "unescaped HTML on the web card page"
    );
    assert!(
        !r.text.contains("<img src=x"),
        "unescaped HTML on the web card page"
    );
    assert!(r.text.contains("&lt;script&gt;"), "{}", r.text);
}

#[test]
fn numbers_are_checked_not_wrapped() {
    let app = spawn_app();
    let data = seed(&app);
    let stamp = app.store_path(&format!(
        "/customers/{}/customer_cards/{}/stamp",
        data.customer, data.customer_card
    ));
    for (raw, status) in [
        ("1e309", 400),
        ("-9223372036854775809", 422),
        ("9223372036854775808", 422),
        ("1.5", 422),
        ("\"1.5\"", 422),
        ("\"abc\"", 422),
        ("101", 422),
        ("-101", 422),
        ("0", 422),
        ("-1", 422), // the card has no stamps yet
        ("\" 3 \"", 200),
        ("3", 200),
    ] {
        let r = app.send(
            "POST",
            &stamp,
            Some(&app.token),
            Some("application/json"),
            Some(format!("{{\"stamps\": {raw}}}").as_bytes()),
            &[],
        );
        assert_status(&r, status, &format!("stamps = {raw}"));
    }
    let r = app.get(&app.store_path(&format!(
        "/customers/{}/customer_cards/{}",
        data.customer, data.customer_card
    )));
    assert_eq!(r.body["stamps_count"], 6, "{}", r.text);
    // Huge ids are not found, not an error.
    for id in [
        "9223372036854775807",
        "9223372036854775808",
        "99999999999999999999",
        "-1",
        "0",
        "1e3",
        "%00",
        "1%00",
    ] {
        let r = app.get(&app.store_path(&format!("/customers/{id}")));
        assert_status(&r, 404, &format!("customer {id}"));
        let r = app.post(
            &format!("/api/v1/accounts/{id}/cards"),
            &json!({"card": {"name": "x"}}),
        );
        assert_status(&r, 404, &format!("account {id}"));
    }
}

/// Query strings reach SQL (and the full-text index) too.
#[test]
fn hostile_query_strings_get_4xx_json() {
    let app = spawn_app();
    let data = seed(&app);
    let long = "q".repeat(5000);
    let values = [
        "%00",
        "a%00b",
        "abc%00",
        "%00%00%00",
        "%22",
        "%22%22%22",
        "%27%3B%20DROP%20TABLE%20customers%3B%20--",
        "%FF%FE",
        "%ED%A0%80",
        "NEAR%28a%20b%29",
        "a%20OR%20b",
        "%2A%2A%2A",
        "-9223372036854775809",
        "99999999999999999999",
        "1.5",
        "1e309",
        long.as_str(),
    ];
    let lists = [
        "/customers",
        "/cards",
        "/rewards",
        "/deliveries",
        &format!(
            "/customers/{}/customer_cards/{}/events",
            data.customer, data.customer_card
        ),
    ];
    let params = [
        "search",
        "source",
        "external_id",
        "page",
        "items",
        "scope",
        "card_id",
        "active",
        "status",
        "customer_id",
    ];
    let mut failures = Vec::new();
    for list in lists {
        for p in params {
            for v in values {
                let path = app.store_path(&format!("{list}?{p}={v}"));
                let r = app.get(&path);
                failures.extend(insane(&r, &format!("GET {path}")));
            }
        }
    }
    assert_alive(&app);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Expiry times at the edges of what can be written as `YYYY-...Z`.
#[test]
fn expiry_times_out_of_range_are_422() {
    let app = spawn_app();
    let mut failures = Vec::new();
    for t in [
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59.999-01:00",
        "0000-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00+00:01",
        "-0001-01-01",
        "+10000-01-01",
        "2026-13-01",
        "2026-02-30",
        "1899-12-31",
    ] {
        let r = app.post(
            &app.store_path("/cards"),
            &json!({"card": {"name": "x", "expires_at": t}}),
        );
        let what = format!("expires_at {t}");
        match insane(&r, &what) {
            Some(e) => failures.push(e),
            None if r.status != 422 => failures.push(format!("{what}: {} {}", r.status, r.text)),
            None => {}
        }
    }
    for t in [
        "9999-12-31",
        "1900-01-01T00:00:00Z",
        "2026-01-01T10:00:00+02:00",
    ] {
        let r = app.post(
            &app.store_path("/cards"),
            &json!({"card": {"name": "x", "expires_at": t}}),
        );
        assert_status(&r, 201, &format!("expires_at {t}"));
    }
    assert_alive(&app);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A client that sends its request head slowly is cut off by the server's head timeout
/// (`request_head_timeout_secs`, here 1 s; 408, or the connection closed) — it cannot
/// hold a connection forever.
#[test]
fn a_slow_request_head_is_cut_off() {
    let app = spawn_app_with(|s| s.request_head_timeout_secs = 1);
    let mut s = TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nX-Slow: {}",
        app.store_path("/cards"),
        app.token,
        "a".repeat(200)
    );
    let start = Instant::now();
    let mut got = Vec::new();
    let mut closed = false;
    'outer: for b in head.bytes() {
        if s.write_all(&[b]).is_err() {
            closed = true;
            break;
        }
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            let mut buf = [0u8; 1024];
            match s.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break 'outer;
                }
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    closed = true;
                    break 'outer;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "a slow client kept its connection for 5 s"
        );
    }
    let elapsed = start.elapsed();
    assert!(
        closed,
        "the whole head went out slowly without being cut off"
    );
    assert!(
        elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(5),
        "cut off after {elapsed:?}"
    );
    let text = String::from_utf8_lossy(&got);
    assert!(
        got.is_empty() || text.starts_with("HTTP/1.1 408"),
        "answer to a slow head: {text}"
    );
    assert_alive(&app);
}

/// A client that stops sending its body half-way gets 408 (JSON) once
/// `request_body_timeout_secs` (here 1 s) has passed, instead of holding a connection
/// and a handler forever.
#[test]
fn a_stalled_body_times_out_with_408() {
    let app = spawn_app_with(|s| s.request_body_timeout_secs = 1);
    let start = Instant::now();
    let mut req = app.raw_request(
        "POST",
        &app.store_path("/cards"),
        &["Content-Type: application/json"],
        b"{\"card\": {\"name\": \"slow\"}}",
    );
    req.truncate(req.len() - 10); // the last 10 bytes never come
    let r = app.raw(&req, Duration::from_secs(10));
    assert_status(&r, 408, "stalled body");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "408 after {elapsed:?}"
    );
    let r = app.get(&app.store_path("/cards"));
    assert_eq!(r.body, json!([]), "nothing was created");
    assert_alive(&app);
}

fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
