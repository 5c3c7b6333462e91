use serde_json::{json, Value};

use crate::support::app::*;

#[test]
fn status_needs_no_token() {
    let app = spawn_app();
    let r = app.request("GET", "/api/v1/status", None, None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["api_version"], "v1");
}

#[test]
fn store_show_and_update() {
    let app = spawn_app();
    let r = app.get(&app.store_path(""));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Test Store");
    assert_eq!(r.body["display_store_name"], "Test Store");
    assert_eq!(r.body["personal"], false);

    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": "Ann's Coffee"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["store_name"], "Ann's Coffee");
    assert_eq!(r.body["display_store_name"], "Ann's Coffee");
    assert_eq!(r.body["name"], "Test Store");

    let r = app.patch(&app.store_path(""), &json!({"account": {"name": ""}}));
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"]["name"][0], "can't be blank");
}

const STORE_KEYS: [&str; 11] = [
    "cards_count",
    "created_at",
    "customers_count",
    "display_store_name",
    "id",
    "locations_count",
    "name",
    "personal",
    "posters_count",
    "store_name",
    "updated_at",
];

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// ISO 8601 in UTC with a `Z` suffix, e.g. `2026-11-25T21:07:21.123Z`.
fn assert_timestamp(v: &serde_json::Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {v} is not a string"));
    assert!(s.ends_with('Z'), "{what}: {s}");
    assert!(
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok(),
        "{what}: {s}"
    );
}

fn assert_fresh_store(s: &serde_json::Value, id: i64, name: &str) {
    assert_eq!(keys(s), STORE_KEYS, "{s}");
    assert_eq!(s["id"], id);
    assert_eq!(s["name"], name);
    assert_eq!(s["store_name"], serde_json::Value::Null);
    assert_eq!(s["display_store_name"], name);
    assert_eq!(s["personal"], false);
    for count in [
        "locations_count",
        "cards_count",
        "customers_count",
        "posters_count",
    ] {
        assert_eq!(s[count], 0, "{count}: {s}");
    }
    assert_timestamp(&s["created_at"], "created_at");
    assert_timestamp(&s["updated_at"], "updated_at");
}

#[test]
fn list_has_exactly_the_store_fields() {
    let app = spawn_app();
    let r = app.get("/api/v1/accounts");
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body.as_array().expect("an array");
    assert_eq!(list.len(), 1, "{}", r.text);
    assert_fresh_store(&list[0], app.store_id, "Test Store");
}

#[test]
fn show_has_exactly_the_store_fields_and_matches_the_list() {
    let app = spawn_app();
    let r = app.get(&app.store_path(""));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_fresh_store(&r.body, app.store_id, "Test Store");
    let list = app.get("/api/v1/accounts");
    assert_eq!(list.body[0], r.body);
}

#[test]
fn update_returns_exactly_the_store_fields() {
    let app = spawn_app();
    let before = app.get(&app.store_path("")).body;
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"name": "Ann Lee", "store_name": "Ann's Coffee"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r.body), STORE_KEYS, "{}", r.text);
    assert_eq!(r.body["id"], app.store_id);
    assert_eq!(r.body["name"], "Ann Lee");
    assert_eq!(r.body["store_name"], "Ann's Coffee");
    assert_eq!(r.body["display_store_name"], "Ann's Coffee");
    assert_eq!(r.body["personal"], false);
    assert_eq!(r.body["created_at"], before["created_at"]);
    assert_timestamp(&r.body["updated_at"], "updated_at");
    assert!(
        r.body["updated_at"].as_str().unwrap() >= before["updated_at"].as_str().unwrap(),
        "{} < {}",
        r.body["updated_at"],
        before["updated_at"]
    );
    // What show returns afterwards is what the update answered.
    assert_eq!(app.get(&app.store_path("")).body, r.body);

    // Clearing store_name falls back to the name.
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": null}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["store_name"], serde_json::Value::Null);
    assert_eq!(r.body["display_store_name"], "Ann Lee");
    assert_eq!(r.body["name"], "Ann Lee");
}

#[test]
fn update_is_partial() {
    let app = spawn_app();
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": "Ann's Coffee"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"name": "Renamed"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Renamed");
    assert_eq!(r.body["store_name"], "Ann's Coffee");
    assert_eq!(r.body["display_store_name"], "Ann's Coffee");
}

#[test]
fn counts_go_up_as_cards_and_customers_are_created() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));
    app.create_card(json!({"name": "Bagels"}));
    let s = app.get(&app.store_path("")).body;
    assert_eq!(s["cards_count"], 2, "{s}");
    assert_eq!(s["customers_count"], 0, "{s}");

    app.create_customer(json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}));
    app.create_customer(json!({
        "customer": {"first_name": "Bob", "phone": "+14155550132"},
        "card_id": card["id"],
    }));
    app.create_customer(json!({"customer": {"first_name": "Cy", "email": "cy@example.com"}}));
    let s = app.get(&app.store_path("")).body;
    assert_eq!(s["cards_count"], 2, "{s}");
    assert_eq!(s["customers_count"], 3, "{s}");
    assert_eq!(s["locations_count"], 0, "{s}");
    assert_eq!(s["posters_count"], 0, "{s}");
    // The list shows the same counts.
    let list = app.get("/api/v1/accounts").body;
    assert_eq!(list[0]["cards_count"], 2);
    assert_eq!(list[0]["customers_count"], 3);

    // A refused create does not count.
    let r = app.post(
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": "Dee", "email": "ann@example.com"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 3);
}

#[test]
fn counts_of_one_store_do_not_move_another() {
    let app = spawn_app();
    let (b, token_b) = app.new_store("Store B");
    app.create_card(json!({"name": "Coffee"}));
    app.create_customer(json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}));
    let r = app.request(
        "GET",
        &format!("/api/v1/accounts/{b}"),
        Some(&token_b),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["cards_count"], 0);
    assert_eq!(r.body["customers_count"], 0);
}

#[test]
fn update_accepts_a_form_body() {
    let app = spawn_app();
    let r = app.request(
        "PATCH",
        &app.store_path(""),
        Some(&app.token),
        Some("application/x-www-form-urlencoded"),
        Some("account[name]=X"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "X");
    assert_eq!(r.body["display_store_name"], "X");
    assert_eq!(app.get(&app.store_path("")).body["name"], "X");

    let r = app.request(
        "PATCH",
        &app.store_path(""),
        Some(&app.token),
        Some("application/x-www-form-urlencoded"),
        Some("account%5Bstore_name%5D=Caf%C3%A9+Ann"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "X");
    assert_eq!(r.body["store_name"], "Café Ann");
    assert_eq!(r.body["display_store_name"], "Café Ann");
}

#[test]
fn names_over_100_characters_are_422() {
    let app = spawn_app();
    let long = "a".repeat(101);
    let r = app.patch(&app.store_path(""), &json!({"account": {"name": long}}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        json!({
            "error": "Validation failed",
            "errors": {"name": ["is too long (maximum is 100 characters)"]},
        })
    );
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": long}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"],
        json!({"store_name": ["is too long (maximum is 100 characters)"]})
    );
    // Nothing changed.
    let s = app.get(&app.store_path("")).body;
    assert_eq!(s["name"], "Test Store");
    assert_eq!(s["store_name"], serde_json::Value::Null);

    // 100 characters (multi-byte ones too) are fine.
    let hundred = "é".repeat(100);
    let r = app.patch(&app.store_path(""), &json!({"account": {"name": hundred}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], hundred);
}

#[test]
fn card_link_setup_tells_whether_links_can_be_sent_and_opened() {
    let app = spawn_app();
    let r = app.get(&app.store_path("/card_links"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], json!(false));
    assert_eq!(r.body["sms"], json!(false));
    assert_eq!(r.body["public_url"], json!(app.base));
    assert_eq!(r.body["phones_can_open"], json!(false), "127.0.0.1");
    assert!(r.body["warning"]
        .as_str()
        .unwrap()
        .contains("phones cannot open"));

    let mut shop = spawn_app_with(|s| {
        s.public_url = Some("https://cards.example.com".into());
    });
    let r = shop.get(&shop.store_path("/card_links"));
    assert_eq!(r.body["phones_can_open"], json!(true));
    assert_eq!(r.body["warning"], Value::Null);
    assert_eq!(r.body["public_url"], json!("https://cards.example.com"));
    shop.stop();

    let (_, stranger) = app.new_store("Elsewhere");
    let r = app.request(
        "GET",
        &app.store_path("/card_links"),
        Some(&stranger),
        None,
        None,
    );
    assert_eq!(r.status, 404, "another store's token: {}", r.text);
}
