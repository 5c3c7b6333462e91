//! What one customer or pass may hold in total, whatever the number of requests: a
//! customer's metadata after merging, their external references and those references'
//! metadata, and the Wallet devices registered for a pass.

use serde_json::{json, Map, Value};

use crate::support::app::*;
use crate::support::apple_chain::{apple_chain, PASS_TYPE_ID};

/// 16 KiB, the most metadata JSON one customer may hold (`limits::METADATA_BYTES`).
const METADATA_BYTES: usize = 16 * 1024;

/// The start of an answer, for failure messages (these bodies are large).
fn head(r: &Resp) -> String {
    r.text.chars().take(300).collect()
}

fn customer(app: &TestApp) -> i64 {
    app.create_customer(json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}))
        ["id"]
        .as_i64()
        .unwrap()
}

/// A metadata object of about `bytes` bytes of JSON under the key `key`.
fn metadata_of(key: &str, bytes: usize) -> Value {
    json!({ key: "x".repeat(bytes) })
}

fn stored_metadata_bytes(app: &TestApp, id: i64) -> usize {
    let text: String = app
        .conn()
        .query_row("SELECT metadata FROM customers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    text.len()
}

#[test]
fn metadata_is_bounded_per_customer_after_merging() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let id = customer(&app);
    let path = app.store_path(&format!("/customers/{id}"));

    // Each request is within the limit; merged together they would not be.
    let mut accepted = 0;
    let mut refused = None;
    for i in 0..10 {
        let r = app.patch(
            &path,
            &json!({"customer": {"metadata": metadata_of(&format!("k{i}"), 6000)}}),
        );
        match r.status {
            200 => accepted += 1,
            _ => {
                refused = Some(r);
                break;
            }
        }
    }
    assert_eq!(accepted, 2, "two 6 KB keys fit in 16 KiB, a third does not");
    let refused = refused.expect("a merge past 16 KiB is refused");
    assert_eq!(refused.status, 422, "{}", head(&refused));
    let message = refused.body["errors"]["metadata"][0].as_str().unwrap();
    assert!(
        message.starts_with("is too large") && message.contains("16384 bytes"),
        "{message}"
    );
    assert!(stored_metadata_bytes(&app, id) <= METADATA_BYTES);
    assert_eq!(
        app.get(&path).body["metadata"].as_object().map(Map::len),
        Some(2),
        "the refused merge changed nothing"
    );

    // Replacing a key with one of the same size, or removing keys, still works.
    let r = app.patch(
        &path,
        &json!({"customer": {"metadata": metadata_of("k1", 6000)}}),
    );
    assert_eq!(r.status, 200, "{}", head(&r));
    let r = app.patch(
        &path,
        &json!({"customer": {"metadata": {"k0": null, "k2": "x".repeat(6000)}}}),
    );
    assert_eq!(r.status, 200, "{}", head(&r));
    assert_eq!(
        r.body["metadata"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["k1", "k2"]
    );

    // A customer who grew past the limit before it held per customer can still be
    // changed, and shrunk, but not grown.
    let big = Value::Object(
        (0..4)
            .map(|i| (format!("old{i}"), json!("y".repeat(6000))))
            .collect(),
    )
    .to_string();
    app.conn()
        .execute(
            "UPDATE customers SET metadata = ?2 WHERE id = ?1",
            rusqlite::params![id, big],
        )
        .unwrap();
    let r = app.patch(&path, &json!({"customer": {"last_name": "Lee"}}));
    assert_eq!(r.status, 200, "{}", head(&r));
    let r = app.patch(&path, &json!({"customer": {"metadata": {"new": 1}}}));
    assert_eq!(r.status, 422, "{}", head(&r));
    let r = app.patch(&path, &json!({"customer": {"metadata": {"old0": null}}}));
    assert_eq!(r.status, 200, "{}", head(&r));
}

fn references(from: usize, n: usize) -> Value {
    Value::Array(
        (from..from + n)
            .map(|i| json!({"source": "pos", "external_id": format!("P-{i}")}))
            .collect(),
    )
}

fn reference_count(app: &TestApp, id: i64) -> i64 {
    app.conn()
        .query_row(
            "SELECT count(*) FROM external_references WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_customer_holds_at_most_50_external_references() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let id = customer(&app);
    let path = app.store_path(&format!("/customers/{id}"));

    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": references(0, 40)}}),
    );
    assert_eq!(r.status, 200, "{}", head(&r));
    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": references(40, 11)}}),
    );
    assert_eq!(r.status, 422, "the 51st is refused: {}", head(&r));
    let message = r.body["errors"]["external_references"][0]
        .as_str()
        .unwrap_or_else(|| panic!("names external_references: {}", head(&r)));
    assert!(message.contains("50"), "{message}");
    assert_eq!(reference_count(&app, id), 40, "nothing of it was saved");

    // Up to 50 they are taken, and updating those already held adds none.
    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": references(40, 10)}}),
    );
    assert_eq!(r.status, 200, "{}", head(&r));
    let mut again = references(0, 50);
    again[0]["metadata"] = json!({"visits": 3});
    let r = app.patch(&path, &json!({"customer": {"external_references": again}}));
    assert_eq!(r.status, 200, "{}", head(&r));
    assert_eq!(r.body["external_references"][0]["metadata"]["visits"], 3);
    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": references(50, 1)}}),
    );
    assert_eq!(r.status, 422, "{}", head(&r));
    assert_eq!(reference_count(&app, id), 50);
}

#[test]
fn external_references_metadata_is_bounded_per_customer() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let id = customer(&app);
    let path = app.store_path(&format!("/customers/{id}"));
    let reference = |i: usize, bytes: usize| {
        json!([{"source": "crm", "external_id": format!("C-{i}"),
            "metadata": metadata_of("notes", bytes)}])
    };

    for i in 0..2 {
        let r = app.patch(
            &path,
            &json!({"customer": {"external_references": reference(i, 7000)}}),
        );
        assert_eq!(r.status, 200, "{}", head(&r));
    }
    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": reference(2, 7000)}}),
    );
    assert_eq!(r.status, 422, "{}", head(&r));
    let message = r.body["errors"]["external_references.metadata"][0]
        .as_str()
        .unwrap_or_else(|| panic!("names external_references.metadata: {}", head(&r)));
    assert!(message.contains("16384"), "{message}");
    assert_eq!(reference_count(&app, id), 2);

    // Replacing one reference's metadata with as much again is no growth.
    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": reference(1, 6000)}}),
    );
    assert_eq!(r.status, 200, "{}", head(&r));
    let stored: i64 = app
        .conn()
        .query_row(
            "SELECT sum(length(metadata)) FROM external_references WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored as usize <= METADATA_BYTES, "{stored} bytes stored");

    // A new customer is held to the same total.
    let three: Vec<Value> = (0..3).map(|i| reference(10 + i, 7000)[0].clone()).collect();
    let r = app.post(
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": "Bo", "email": "bo@example.com",
            "external_references": three}}),
    );
    assert_eq!(r.status, 422, "{}", head(&r));
    assert!(r.body["errors"]["external_references.metadata"].is_array());
}

// ---------------------------------------------------------------------------------
// Wallet device registrations
// ---------------------------------------------------------------------------------

/// A customer enrolled in a card, with the pass's serial and authentication token.
struct Pass {
    customer_id: i64,
    customer_card_id: i64,
    serial: String,
    token: String,
}

fn pass(app: &TestApp) -> Pass {
    let card = app.create_card(json!({"name": "Coffee"}));
    let customer = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "ann@example.com"},
        "card_id": card["id"],
    }));
    let cc = &customer["customer_card"];
    let customer_card_id = cc["id"].as_i64().unwrap();
    let token: String = app
        .conn()
        .query_row(
            "SELECT pass_auth_token FROM customer_cards WHERE id = ?1",
            [customer_card_id],
            |r| r.get(0),
        )
        .unwrap();
    Pass {
        customer_id: customer["id"].as_i64().unwrap(),
        customer_card_id,
        serial: cc["uuid"].as_str().unwrap().to_string(),
        token,
    }
}

fn register(app: &TestApp, pass: &Pass, device: &str) -> Resp {
    fetch(
        "POST",
        &format!(
            "{}/passes/v1/devices/{device}/registrations/{PASS_TYPE_ID}/{}",
            app.base, pass.serial
        ),
        &[
            ("Authorization", &format!("ApplePass {}", pass.token)),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"pushToken": "0123abcd"}"#),
    )
}

fn devices(app: &TestApp, pass: &Pass) -> Vec<String> {
    let conn = app.conn();
    let mut stmt = conn
        .prepare(
            "SELECT device_library_id FROM pass_registrations WHERE customer_card_id = ?1
             ORDER BY device_library_id",
        )
        .unwrap();
    stmt.query_map([pass.customer_card_id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn installed(app: &TestApp, pass: &Pass) -> bool {
    app.conn()
        .query_row(
            "SELECT pass_installed FROM customer_cards WHERE id = ?1",
            [pass.customer_card_id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_pass_keeps_its_10_latest_devices() {
    let app = spawn_app_in(|s, dir| {
        s.apple = Some(apple_chain(dir));
        s.rate_limit_per_address_per_minute = 0;
    });
    let pass = pass(&app);
    for i in 0..25 {
        let r = register(&app, &pass, &format!("device-{i:02}"));
        assert_eq!(r.status, 201, "device {i}: {}", head(&r));
        // Registrations made in the same millisecond would tie on age.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let expected: Vec<String> = (15..25).map(|i| format!("device-{i:02}")).collect();
    assert_eq!(devices(&app, &pass), expected, "the oldest were dropped");
    assert!(installed(&app, &pass));

    // Renewing a kept device's push token drops nothing.
    assert_eq!(register(&app, &pass, "device-20").status, 200);
    assert_eq!(devices(&app, &pass), expected);
}

#[test]
fn an_erased_customers_pass_takes_no_registration() {
    let app = spawn_app_in(|s, dir| s.apple = Some(apple_chain(dir)));
    let pass = pass(&app);
    assert_eq!(register(&app, &pass, "device-1").status, 201);
    assert!(installed(&app, &pass));

    let r = app.delete(&app.store_path(&format!("/customers/{}", pass.customer_id)));
    assert_eq!(r.status, 204, "{}", head(&r));
    assert!(!installed(&app, &pass));
    assert!(devices(&app, &pass).is_empty());

    for device in ["device-1", "device-2"] {
        let r = register(&app, &pass, device);
        assert_eq!(r.status, 404, "{device}: {}", head(&r));
    }
    assert!(devices(&app, &pass).is_empty());
    assert!(
        !installed(&app, &pass),
        "the erased customer's pass is not marked installed again"
    );
}
