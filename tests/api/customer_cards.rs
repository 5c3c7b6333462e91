//! A customer's cards: list and show, every field, codes, status, and 404s.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::app::*;

const CARD_KEYS: [&str; 19] = [
    "account_id",
    "apple_wallet_url",
    "available_rewards",
    "card_id",
    "card_name",
    "code",
    "created_at",
    "customer_id",
    "google_wallet_url",
    "id",
    "issued_at",
    "pass_installed",
    "progress_percentage",
    "stamps_count",
    "stamps_remaining",
    "stamps_required",
    "status",
    "updated_at",
    "uuid",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn expected_keys() -> Vec<String> {
    let mut k: Vec<String> = CARD_KEYS.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// `2026-11-25T21:07:21.123Z`: ISO 8601, UTC, milliseconds, `Z`.
fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    let b = s.as_bytes();
    assert_eq!(b.len(), 24, "timestamp {s:?}");
    for (i, c) in b.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*c, b'-', "{s}"),
            10 => assert_eq!(*c, b'T', "{s}"),
            13 | 16 => assert_eq!(*c, b':', "{s}"),
            19 => assert_eq!(*c, b'.', "{s}"),
            23 => assert_eq!(*c, b'Z', "{s}"),
            _ => assert!(c.is_ascii_digit(), "{s}"),
        }
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s}: {e}"));
}

/// A UUID in its canonical form: 8-4-4-4-12 lower-case hex digits.
fn assert_uuid(s: &str) {
    let parts: Vec<&str> = s.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12],
        "{s}"
    );
    assert!(
        parts.iter().all(|p| p
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())),
        "{s}"
    );
}

fn cards_path(app: &TestApp, customer: &Value) -> String {
    app.store_path(&format!("/customers/{customer}/customer_cards"))
}

fn card_path(app: &TestApp, customer: &Value, id: &Value) -> String {
    app.store_path(&format!("/customers/{customer}/customer_cards/{id}"))
}

/// A customer enrolled in `card`; returns the 201 body (with `customer_card`).
fn enrol(app: &TestApp, card: &Value, first_name: &str, email: &str) -> Value {
    app.create_customer(json!({
        "customer": {"first_name": first_name, "email": email},
        "card_id": card["id"]
    }))
}

#[test]
fn list_and_show_carry_every_field() {
    let app = spawn_app();
    let card =
        app.create_card(json!({"name": "Coffee Card", "stamps_required": 8, "initial_stamps": 2}));
    let c = enrol(&app, &card, "Ann", "ann@example.com");

    let r = app.get(&cards_path(&app, &c["id"]));
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body.as_array().expect("an array");
    assert_eq!(list.len(), 1);
    let cc = &list[0];
    assert_eq!(keys(cc), expected_keys(), "{cc}");

    assert!(cc["id"].as_i64().unwrap() > 0);
    assert_eq!(cc["account_id"], app.store_id);
    assert_eq!(cc["customer_id"], c["id"]);
    assert_eq!(cc["card_id"], card["id"]);
    assert_eq!(cc["card_name"], "Coffee Card");
    assert_eq!(cc["status"], "active");
    assert_eq!(cc["stamps_count"], 2);
    assert_eq!(cc["stamps_required"], 8);
    assert_eq!(cc["stamps_remaining"], 6);
    assert!(cc["progress_percentage"].is_number(), "a number: {cc}");
    assert_eq!(cc["progress_percentage"].as_f64(), Some(25.0));
    let code = cc["code"].as_str().unwrap();
    assert_eq!(code.len(), 8, "{code}");
    assert!(
        code.chars()
            .all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase()),
        "{code}"
    );
    let uuid = cc["uuid"].as_str().unwrap();
    assert_uuid(uuid);
    assert_eq!(cc["pass_installed"], false);
    assert_eq!(
        cc["apple_wallet_url"],
        format!("{}/passes/{uuid}.pkpass", app.base)
    );
    assert_eq!(
        cc["google_wallet_url"],
        format!("{}/passes/{uuid}/google", app.base)
    );
    assert_eq!(cc["available_rewards"], json!([]));
    assert_timestamp(&cc["issued_at"]);
    assert_timestamp(&cc["created_at"]);
    assert_timestamp(&cc["updated_at"]);

    // Show gives the same object; so do the customer's JSON and the 201 response.
    let s = app.get(&card_path(&app, &c["id"], &cc["id"]));
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(&s.body, cc);
    assert_eq!(&c["customer_card"], cc);
    let customer = app.get(&app.store_path(&format!("/customers/{}", c["id"])));
    assert_eq!(customer.body["customer_cards"], json!([cc.clone()]));

    // The row on disk agrees.
    let (code_db, uuid_db, count_db): (String, String, i64) = app
        .conn()
        .query_row(
            "SELECT code, uuid, stamps_count FROM customer_cards WHERE id = ?1",
            [cc["id"].as_i64().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (code_db.as_str(), uuid_db.as_str(), count_db),
        (code, uuid, 2)
    );
}

#[test]
fn progress_is_a_number_with_at_most_two_decimals() {
    let app = spawn_app();
    for (required, initial, progress, remaining) in [
        (3, 1, 33.33, 2),
        (3, 2, 66.67, 1),
        (10, 0, 0.0, 10),
        (7, 6, 85.71, 1),
        (21, 20, 95.24, 1),
    ] {
        let card = app.create_card(json!({"name": format!("Card {required}/{initial}"),
            "stamps_required": required, "initial_stamps": initial}));
        let c = enrol(
            &app,
            &card,
            "Ann",
            &format!("ann{required}.{initial}@example.com"),
        );
        let cc = &c["customer_card"];
        assert_eq!(
            cc["progress_percentage"].as_f64(),
            Some(progress),
            "{required}/{initial}: {cc}"
        );
        assert_eq!(cc["stamps_remaining"], remaining);
        assert_eq!(cc["stamps_count"], initial);
        assert_eq!(cc["status"], "active");
    }
}

#[test]
fn list_is_empty_for_a_customer_without_cards() {
    let app = spawn_app();
    let c =
        app.create_customer(json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}));
    let r = app.get(&cards_path(&app, &c["id"]));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!([]));
}

#[test]
fn codes_and_uuids_are_unique() {
    let app = spawn_app();
    let coffee = app.create_card(json!({"name": "Coffee"}));
    let tea = app.create_card(json!({"name": "Tea"}));
    let mut codes = HashSet::new();
    let mut uuids = HashSet::new();
    for i in 0..24 {
        let card = if i % 2 == 0 { &coffee } else { &tea };
        let c = enrol(&app, card, "Guest", &format!("guest{i}@example.com"));
        let cc = &c["customer_card"];
        let code = cc["code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 8, "{code}");
        assert!(
            code.chars()
                .all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase()),
            "{code}"
        );
        assert!(codes.insert(code.clone()), "code {code} given twice");
        let uuid = cc["uuid"].as_str().unwrap().to_string();
        assert_uuid(&uuid);
        assert!(uuids.insert(uuid.clone()), "uuid {uuid} given twice");
        assert_eq!(cc["card_name"], card["name"]);
    }
    let distinct: i64 = app
        .conn()
        .query_row("SELECT count(DISTINCT code) FROM customer_cards", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(distinct, 24);
}

#[test]
fn status_is_archived_when_the_template_is_archived_or_expired() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee", "initial_stamps": 1}));
    let c = enrol(&app, &card, "Ann", "ann@example.com");
    let cc = c["customer_card"].clone();
    let show = card_path(&app, &c["id"], &cc["id"]);
    assert_eq!(app.get(&show).body["status"], "active");

    let card_url = app.store_path(&format!("/cards/{}", card["id"]));
    let r = app.patch(&card_url, &json!({"card": {"archived": true}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["archived_at"].is_string(), "{}", r.text);

    let r = app.get(&show);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "archived");
    // Nothing else about the card changes.
    let mut expected = cc.clone();
    expected["status"] = json!("archived");
    assert_eq!(r.body, expected);
    let r = app.get(&cards_path(&app, &c["id"]));
    assert_eq!(r.body[0]["status"], "archived");
    let r = app.get(&app.store_path(&format!("/customers/{}", c["id"])));
    assert_eq!(r.body["customer_cards"][0]["status"], "archived");

    // Restored: active again.
    let r = app.patch(&card_url, &json!({"card": {"archived": false}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&show).body["status"], "active");

    // An expired template (its end date has passed) counts as archived too.
    app.conn()
        .execute(
            "UPDATE cards SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
            [card["id"].as_i64().unwrap()],
        )
        .unwrap();
    assert_eq!(app.get(&show).body["status"], "archived");
}

#[test]
fn foreign_and_malformed_ids_are_404() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));
    let ann = enrol(&app, &card, "Ann", "ann@example.com");
    let bo = enrol(&app, &card, "Bo", "bo@example.com");
    let ann_cc = ann["customer_card"]["id"].clone();
    let bo_cc = bo["customer_card"]["id"].clone();

    // Sanity: each under its own customer.
    assert_eq!(app.get(&card_path(&app, &ann["id"], &ann_cc)).status, 200);
    assert_eq!(app.get(&card_path(&app, &bo["id"], &bo_cc)).status, 200);

    // Another customer's card id.
    let r = app.get(&card_path(&app, &ann["id"], &bo_cc));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body, json!({"error": "Customer card not found"}));

    // Unknown and non-integer card ids.
    for id in ["999999", "abc", "0", "-1", "1.0"] {
        let r = app.get(&app.store_path(&format!("/customers/{}/customer_cards/{id}", ann["id"])));
        assert_eq!(r.status, 404, "{id}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Customer card not found"}), "{id}");
    }

    // Unknown and non-integer customer ids, for the list and the show.
    for id in ["999999", "abc", "0", "-3"] {
        let r = app.get(&app.store_path(&format!("/customers/{id}/customer_cards")));
        assert_eq!(r.status, 404, "{id}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Customer not found"}), "{id}");
        let r = app.get(&app.store_path(&format!("/customers/{id}/customer_cards/{ann_cc}")));
        assert_eq!(r.status, 404, "{id}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Customer not found"}), "{id}");
    }

    // A customer of another store, by its id under our store and under theirs.
    let (other, other_token) = app.new_store("Other Store");
    let post = |path: String, body: Value| {
        let r = app.request(
            "POST",
            &path,
            Some(&other_token),
            Some("application/json"),
            Some(&body.to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    };
    let their_card = post(
        format!("/api/v1/accounts/{other}/cards"),
        json!({"card": {"name": "Theirs"}}),
    );
    let theirs = post(
        format!("/api/v1/accounts/{other}/customers"),
        json!({"customer": {"first_name": "Cy", "email": "cy@example.com"}, "card_id": their_card["id"]}),
    );
    let their_cc = theirs["customer_card"]["id"].clone();

    let r = app.get(&cards_path(&app, &theirs["id"]));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body, json!({"error": "Customer not found"}));
    let r = app.get(&card_path(&app, &theirs["id"], &their_cc));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body, json!({"error": "Customer not found"}));
    // Their card id under our own customer.
    let r = app.get(&card_path(&app, &ann["id"], &their_cc));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body, json!({"error": "Customer card not found"}));
    // Their store's path with our token.
    for path in [
        format!(
            "/api/v1/accounts/{other}/customers/{}/customer_cards",
            theirs["id"]
        ),
        format!(
            "/api/v1/accounts/{other}/customers/{}/customer_cards/{their_cc}",
            theirs["id"]
        ),
    ] {
        let r = app.get(&path);
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Store not found"}), "{path}");
    }
    // Their token sees their card.
    let r = app.request(
        "GET",
        &format!(
            "/api/v1/accounts/{other}/customers/{}/customer_cards/{their_cc}",
            theirs["id"]
        ),
        Some(&other_token),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["card_name"], "Theirs");
    assert_eq!(r.body["account_id"], other);
}

#[test]
fn an_existing_customer_is_enrolled_in_another_card_once() {
    let app = spawn_app();
    let coffee = app.create_card(json!({"name": "Coffee", "initial_stamps": 2}));
    let cake = app.create_card(json!({"name": "Cake"}));
    let ann =
        app.create_customer(json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}));
    let path = app.store_path(&format!("/customers/{}/customer_cards", ann["id"]));

    // A customer without a card gets one, with the template's welcome stamps.
    let r = app.post(&path, &json!({"card_id": coffee["id"]}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["card_id"], coffee["id"]);
    assert_eq!(r.body["customer_id"], ann["id"]);
    assert_eq!(r.body["stamps_count"], json!(2));
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, CARD_KEYS, "the shape of every customer card");
    let cc = r.body["id"].as_i64().unwrap();
    let ledger = app.events(ann["id"].as_i64().unwrap(), cc);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["kind"], json!("welcome_bonus"));

    // A second card of another template, by form as well.
    let r = app.post_form(&path, &format!("card_id={}", cake["id"]));
    assert_eq!(r.status, 201, "{}", r.text);
    let shown = app.get_ok(&app.store_path(&format!("/customers/{}", ann["id"])));
    assert_eq!(shown["customer_cards"].as_array().unwrap().len(), 2);

    // The same card again: 422, nothing added.
    let r = app.post(&path, &json!({"card_id": coffee["id"]}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"],
        json!({"card_id": ["is already enrolled"]})
    );

    // Another store's card is not found; so is a customer of another store.
    let (other, other_token) = app.new_store("Other Shop");
    let theirs = app
        .request(
            "POST",
            &format!("/api/v1/accounts/{other}/cards"),
            Some(&other_token),
            Some("application/json"),
            Some(r#"{"card": {"name": "Theirs"}}"#),
        )
        .body;
    let r = app.post(&path, &json!({"card_id": theirs["id"]}));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"], json!("Card not found"));
    let r = app.post(
        &app.store_path("/customers/999999/customer_cards"),
        &json!({"card_id": coffee["id"]}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], json!("Customer not found"));

    // An archived card takes no one, as at create; a missing card_id says so.
    let bob =
        app.create_customer(json!({"customer": {"first_name": "Bob", "email": "bob@example.com"}}));
    let bob_path = app.store_path(&format!("/customers/{}/customer_cards", bob["id"]));
    let r = app.patch(
        &app.store_path(&format!("/cards/{}", cake["id"])),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post(&bob_path, &json!({"card_id": cake["id"]}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"], json!({"card_id": ["is archived"]}));
    let r = app.post(&bob_path, &json!({}));
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"], json!({"card_id": ["can't be blank"]}));
    let none = app.get_ok(&bob_path);
    assert_eq!(none, json!([]));
}
