//! Errors and request bodies (API.md section 1): JSON errors for unknown routes, wrong
//! methods, bad bodies; form bodies; lenient booleans.

use serde_json::{json, Value};

use crate::support::app::*;

fn assert_json_content_type(r: &Resp, what: &str) {
    assert!(
        r.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{what}: content-type {:?}",
        r.header("content-type")
    );
}

/// An error body: an object whose `error` is a non-empty string.
fn error_text(r: &Resp, what: &str) -> String {
    assert_json_content_type(r, what);
    let e = r.body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no error in {}", r.text));
    assert!(!e.is_empty(), "{what}");
    e.to_string()
}

fn validation(errors: Value) -> Value {
    json!({"error": "Validation failed", "errors": errors})
}

#[test]
fn unknown_routes_are_404_json() {
    let app = spawn_app();
    let id = app.store_id;
    for path in [
        "/api/v1/nope".to_string(),
        "/api/v1/".to_string(),
        "/api/v1".to_string(),
        format!("/api/v1/accounts/{id}/unknown"),
        format!("/api/v1/accounts/{id}/cards/1/extra"),
        "/api/v2/accounts".to_string(),
        "/nope".to_string(),
        "/index.html".to_string(),
    ] {
        for token in [Some(app.token.as_str()), None] {
            let r = app.request("GET", &path, token, None, None);
            assert_eq!(r.status, 404, "GET {path}: {}", r.text);
            assert_json_content_type(&r, &path);
            assert_eq!(r.body, json!({"error": "Not found"}), "GET {path}");
        }
        let r = app.post(&path, &json!({"a": 1}));
        assert_eq!(r.status, 404, "POST {path}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Not found"}), "POST {path}");
    }
}

fn allowed(r: &Resp) -> Vec<String> {
    let mut m: Vec<String> = r
        .header("allow")
        .unwrap_or_else(|| panic!("no Allow header: {:?}", r.headers))
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    m.sort();
    m
}

#[test]
fn wrong_method_on_a_known_path_is_405_json_with_allow() {
    let app = spawn_app();
    let r = app.request(
        "DELETE",
        &app.store_path("/customers"),
        Some(&app.token),
        None,
        None,
    );
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(allowed(&r), vec!["GET", "POST"]);
    error_text(&r, "DELETE customers");
    assert_eq!(
        r.body,
        json!({"error": "Method not allowed (allowed: GET, POST)"})
    );

    let cases = [
        ("PUT", "/api/v1/status".to_string(), vec!["GET"]),
        ("POST", "/api/v1/accounts".to_string(), vec!["GET"]),
        ("DELETE", app.store_path(""), vec!["GET", "PATCH", "PUT"]),
        (
            "DELETE",
            app.store_path("/cards/1"),
            vec!["GET", "PATCH", "PUT"],
        ),
        ("PATCH", app.store_path("/cards"), vec!["GET", "POST"]),
        (
            "POST",
            app.store_path("/customers/1"),
            vec!["DELETE", "GET", "PATCH", "PUT"],
        ),
    ];
    for (method, path, allow) in cases {
        let r = app.request(method, &path, Some(&app.token), None, None);
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        assert_eq!(allowed(&r), allow, "{method} {path}");
        error_text(&r, &format!("{method} {path}"));
    }
    // The collection is intact.
    let r = app.get(&app.store_path("/customers"));
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn malformed_json_is_400_json() {
    let app = spawn_app();
    for body in [
        "{bad",
        "{\"customer\": ",
        "{\"customer\": {\"first_name\": \"Ann\",}}",
        "nul",
    ] {
        let r = app.request(
            "POST",
            &app.store_path("/customers"),
            Some(&app.token),
            Some("application/json"),
            Some(body),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        let e = error_text(&r, body);
        assert!(e.contains("JSON"), "{body}: {e}");
    }
    let r = app.request(
        "PATCH",
        &app.store_path(""),
        Some(&app.token),
        Some("application/json; charset=utf-8"),
        Some("{\"account\": {\"name\": "),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);
}

#[test]
fn a_json_body_that_is_not_an_object_is_400() {
    let app = spawn_app();
    for body in [
        "[]",
        "[{\"customer\": {\"first_name\": \"Ann\", \"email\": \"ann@example.com\"}}]",
        "\"Ann\"",
        "42",
        "null",
        "true",
    ] {
        let r = app.request(
            "POST",
            &app.store_path("/customers"),
            Some(&app.token),
            Some("application/json"),
            Some(body),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        error_text(&r, body);
        assert_eq!(
            r.body,
            json!({"error": "Request body must be a JSON object, e.g. {\"customer\": {...}}"}),
            "{body}"
        );
    }
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);
}

#[test]
fn unsupported_content_types_are_415() {
    let app = spawn_app();
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let r = app.request(
            "POST",
            &app.store_path("/customers"),
            Some(&app.token),
            Some(ct),
            Some("customer[first_name]=Ann&customer[email]=ann@example.com"),
        );
        assert_eq!(r.status, 415, "{ct}: {}", r.text);
        let e = error_text(&r, ct);
        assert!(e.contains("Content-Type"), "{ct}: {e}");
    }
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);
}

const LIMIT: usize = 64 * 1024;

/// A JSON customer body padded with spaces to exactly `len` bytes.
fn padded_customer(len: usize) -> String {
    let mut s = json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}).to_string();
    assert!(s.len() < len);
    s.push_str(&" ".repeat(len - s.len()));
    s
}

#[test]
fn bodies_over_64_kib_are_413_json() {
    let app = spawn_app();
    let r = app.request(
        "POST",
        &app.store_path("/customers"),
        Some(&app.token),
        Some("application/json"),
        Some(&padded_customer(LIMIT + 1)),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    error_text(&r, "413");
    assert_eq!(
        r.body,
        json!({"error": "Request body is too large (the limit is 64 KiB)"})
    );
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);

    // Much larger, and without a Content-Length (chunked).
    let big = padded_customer(LIMIT * 3);
    let resp = ureq::post(&format!("{}{}", app.base, app.store_path("/customers")))
        .set("Authorization", &format!("Bearer {}", app.token))
        .set("Content-Type", "application/json")
        .send(std::io::Cursor::new(big.into_bytes()));
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("chunked request: {e}"),
    };
    assert_eq!(resp.status(), 413);
    let body: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"error": "Request body is too large (the limit is 64 KiB)"})
    );
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);
}

#[test]
fn a_body_of_exactly_64_kib_is_accepted() {
    let app = spawn_app();
    let r = app.request(
        "POST",
        &app.store_path("/customers"),
        Some(&app.token),
        Some("application/json"),
        Some(&padded_customer(LIMIT)),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["first_name"], "Ann");
}

#[test]
fn form_bodies_are_accepted() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee", "initial_stamps": 2}));
    let r = app.post_form(
        &app.store_path("/customers"),
        &format!(
            "customer%5Bfirst_name%5D=Ann&customer[last_name]=Lee&customer[email]=ann%40example.com&card_id={}",
            card["id"]
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_json_content_type(&r, "form create");
    assert_eq!(r.body["first_name"], "Ann");
    assert_eq!(r.body["last_name"], "Lee");
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["customer_card"]["card_id"], card["id"]);
    assert_eq!(r.body["customer_card"]["stamps_count"], 2);

    // A form with a validation error answers like JSON does.
    let r = app.post_form(&app.store_path("/customers"), "customer[first_name]=Bob");
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({
            "email": ["can't be blank when phone is blank"],
            "phone": ["can't be blank when email is blank"],
        }))
    );
}

#[test]
fn an_empty_body_on_create_customer_is_422() {
    let app = spawn_app();
    let expected = validation(json!({
        "first_name": ["can't be blank"],
        "email": ["can't be blank when phone is blank"],
        "phone": ["can't be blank when email is blank"],
    }));
    for ct in [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let r = app.request(
            "POST",
            &app.store_path("/customers"),
            Some(&app.token),
            ct,
            Some(""),
        );
        assert_eq!(r.status, 422, "{ct:?}: {}", r.text);
        assert_eq!(r.body, expected, "{ct:?}");
        assert_json_content_type(&r, "empty body");
    }
    let r = app.request(
        "POST",
        &app.store_path("/customers"),
        Some(&app.token),
        None,
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, expected);
    let r = app.post(&app.store_path("/customers"), &json!({}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, expected);
}

fn deliveries_of(app: &TestApp, customer_id: i64) -> i64 {
    app.conn()
        .query_row(
            "SELECT count(*) FROM outbox WHERE customer_id = ?1",
            [customer_id],
            |r| r.get(0),
        )
        .expect("count deliveries")
}

#[test]
fn booleans_accept_true_false_1_0() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));
    let values = [
        (json!("1"), true),
        (json!("0"), false),
        (json!("true"), true),
        (json!("false"), false),
        (json!(true), true),
        (json!(false), false),
        (json!(1), true),
        (json!(0), false),
    ];
    for (i, (v, on)) in values.iter().enumerate() {
        let r = app.post(
            &app.store_path("/customers"),
            &json!({
                "customer": {"first_name": "Ann", "email": format!("ann{i}@example.com")},
                "card_id": card["id"],
                "send_card_links": v,
            }),
        );
        assert_eq!(r.status, 201, "send_card_links {v}: {}", r.text);
        let id = r.body["id"].as_i64().unwrap();
        assert_eq!(
            deliveries_of(&app, id),
            i64::from(*on),
            "send_card_links {v}"
        );
    }
    // Form bodies send them as text.
    for (i, (v, on)) in [("1", true), ("0", false), ("true", true), ("false", false)]
        .iter()
        .enumerate()
    {
        let r = app.post_form(
            &app.store_path("/customers"),
            &format!(
                "customer[first_name]=Bo&customer[email]=bo{i}%40example.com&card_id={}&send_card_links={v}",
                card["id"]
            ),
        );
        assert_eq!(r.status, 201, "form send_card_links={v}: {}", r.text);
        let id = r.body["id"].as_i64().unwrap();
        assert_eq!(deliveries_of(&app, id), i64::from(*on), "form {v}");
    }
    // Anything else is refused.
    for v in [json!("yes"), json!(2), json!("maybe")] {
        let r = app.post(
            &app.store_path("/customers"),
            &json!({
                "customer": {"first_name": "Cy", "email": "cy@example.com"},
                "card_id": card["id"],
                "send_card_links": v,
            }),
        );
        assert_eq!(r.status, 422, "send_card_links {v}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"send_card_links": ["must be one of: true, false, 1, 0"]})),
            "{v}"
        );
    }
}

#[test]
fn errors_of_writes_are_json_with_a_summary() {
    let app = spawn_app();
    let r = app.post(
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "not-an-email"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_json_content_type(&r, "422");
    assert_eq!(r.body, validation(json!({"email": ["is invalid"]})));
}
