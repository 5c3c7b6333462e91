//! Locations (`/accounts/:account_id/locations`): a store's shops. Name and address are
//! required; `latitude` (-90..90) and `longitude` (-180..180) are optional numbers that
//! go together; forms send them as numeric strings. Full CRUD, `locations_count` on the
//! store, other stores' locations are 404. With Apple Wallet configured, the store's
//! located shops (at most 10) are the `locations` of its passes' `pass.json`.

use std::io::{Cursor, Read};

use serde_json::{json, Value};

use crate::support::app::*;
use crate::support::apple_chain::apple_chain;

fn create(app: &TestApp, attrs: Value) -> Resp {
    app.post(&app.store_path("/locations"), &json!({ "location": attrs }))
}

fn create_ok(app: &TestApp, attrs: Value) -> Value {
    let r = create(app, attrs);
    assert_eq!(r.status, 201, "create location: {}", r.text);
    r.body
}

fn location_path(app: &TestApp, id: &Value) -> String {
    app.store_path(&format!("/locations/{id}"))
}

/// The 422 errors of `field`.
fn errors_of(r: &Resp, field: &str) -> Vec<String> {
    assert_eq!(r.status, 422, "expected 422: {}", r.text);
    assert_eq!(r.body["error"], "Validation failed", "{}", r.text);
    r.body["errors"][field]
        .as_array()
        .unwrap_or_else(|| panic!("errors for {field}: {}", r.text))
        .iter()
        .map(|m| m.as_str().unwrap_or_default().to_string())
        .collect()
}

fn locations_count(app: &TestApp) -> i64 {
    let s = app.get(&app.store_path(""));
    assert_eq!(s.status, 200, "{}", s.text);
    s.body["locations_count"]
        .as_i64()
        .unwrap_or_else(|| panic!("locations_count: {}", s.text))
}

#[test]
fn create_show_and_list_a_location() {
    let app = spawn_app();
    let plain = create_ok(&app, json!({"name": "Main Street", "address": "1 Main St"}));
    assert!(plain["id"].as_i64().is_some_and(|i| i > 0), "{plain}");
    assert_eq!(plain["account_id"], app.store_id);
    assert_eq!(plain["name"], "Main Street");
    assert_eq!(plain["address"], "1 Main St");
    assert_eq!(plain["latitude"], Value::Null);
    assert_eq!(plain["longitude"], Value::Null);
    for key in ["created_at", "updated_at"] {
        assert!(plain[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }

    let located = create_ok(
        &app,
        json!({"name": "Harbour", "address": "2 Quay Rd", "latitude": 51.5074, "longitude": -0.1278}),
    );
    assert_eq!(located["latitude"], 51.5074);
    assert_eq!(located["longitude"], -0.1278);

    let shown = app.get(&location_path(&app, &located["id"]));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.body, located);

    let list = app.get(&app.store_path("/locations"));
    assert_eq!(list.status, 200, "{}", list.text);
    let ids: Vec<&Value> = list
        .body
        .as_array()
        .unwrap_or_else(|| panic!("the list is an array: {}", list.text))
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(ids, vec![&plain["id"], &located["id"]]);
    assert_eq!(list.body[1], located);
}

#[test]
fn a_root_less_json_body_is_taken_as_the_attributes() {
    let app = spawn_app();
    let r = app.post(
        &app.store_path("/locations"),
        &json!({"name": "Kiosk", "address": "Station Hall"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], "Kiosk");
}

#[test]
fn name_and_address_are_required_and_bounded() {
    let app = spawn_app();
    let r = create(&app, json!({}));
    assert_eq!(errors_of(&r, "name"), ["can't be blank"]);
    assert_eq!(errors_of(&r, "address"), ["can't be blank"]);

    let r = create(&app, json!({"name": "  ", "address": null}));
    assert_eq!(errors_of(&r, "name"), ["can't be blank"]);
    assert_eq!(errors_of(&r, "address"), ["can't be blank"]);

    let r = create(&app, json!({"name": "Only a name"}));
    assert_eq!(errors_of(&r, "address"), ["can't be blank"]);
    assert!(r.body["errors"].get("name").is_none(), "{}", r.text);

    let r = create(
        &app,
        json!({"name": "n".repeat(101), "address": "a".repeat(256)}),
    );
    assert_eq!(
        errors_of(&r, "name"),
        ["is too long (maximum is 100 characters)"]
    );
    assert_eq!(
        errors_of(&r, "address"),
        ["is too long (maximum is 255 characters)"]
    );
    // The limits themselves are fine.
    create_ok(
        &app,
        json!({"name": "n".repeat(100), "address": "a".repeat(255)}),
    );
    assert_eq!(locations_count(&app), 1, "refused locations are not stored");
}

#[test]
fn coordinates_must_be_in_range() {
    let app = spawn_app();
    for (lat, lon, field, message) in [
        (90.0001, 0.0, "latitude", "must be less than or equal to 90"),
        (
            -90.5,
            0.0,
            "latitude",
            "must be greater than or equal to -90",
        ),
        (
            0.0,
            180.25,
            "longitude",
            "must be less than or equal to 180",
        ),
        (
            0.0,
            -181.0,
            "longitude",
            "must be greater than or equal to -180",
        ),
    ] {
        let r = create(
            &app,
            json!({"name": "Out", "address": "Nowhere", "latitude": lat, "longitude": lon}),
        );
        assert_eq!(errors_of(&r, field), [message], "({lat}, {lon})");
    }
    for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)] {
        let l = create_ok(
            &app,
            json!({"name": "Edge", "address": "Edge", "latitude": lat, "longitude": lon}),
        );
        assert_eq!(l["latitude"].as_f64(), Some(lat));
        assert_eq!(l["longitude"].as_f64(), Some(lon));
    }
    for bad in [
        json!("north"),
        json!("NaN"),
        json!("inf"),
        json!(true),
        json!([1]),
        json!({"a": 1}),
    ] {
        let r = create(
            &app,
            json!({"name": "Bad", "address": "Bad", "latitude": bad, "longitude": 1}),
        );
        assert_eq!(errors_of(&r, "latitude"), ["is not a number"], "{bad}");
    }
    assert_eq!(locations_count(&app), 3);
}

#[test]
fn latitude_and_longitude_go_together() {
    let app = spawn_app();
    let r = create(
        &app,
        json!({"name": "Half", "address": "Half", "latitude": 40.0}),
    );
    assert_eq!(
        errors_of(&r, "longitude"),
        ["can't be blank when latitude is set"]
    );
    let r = create(
        &app,
        json!({"name": "Half", "address": "Half", "latitude": "", "longitude": 3.5}),
    );
    assert_eq!(
        errors_of(&r, "latitude"),
        ["can't be blank when longitude is set"]
    );

    // On update too: clearing one of the pair alone is refused, clearing both is fine.
    let l = create_ok(
        &app,
        json!({"name": "Pair", "address": "Pair", "latitude": 40.0, "longitude": 3.5}),
    );
    let path = location_path(&app, &l["id"]);
    let r = app.patch(&path, &json!({"location": {"longitude": null}}));
    assert_eq!(
        errors_of(&r, "longitude"),
        ["can't be blank when latitude is set"]
    );
    assert_eq!(app.get(&path).body["longitude"], 3.5, "unchanged");
    let r = app.patch(
        &path,
        &json!({"location": {"longitude": null, "latitude": null}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["latitude"], Value::Null);
    assert_eq!(r.body["longitude"], Value::Null);

    // A plain location gains coordinates only as a pair.
    let r = app.patch(&path, &json!({"location": {"latitude": 1.25}}));
    assert_eq!(
        errors_of(&r, "longitude"),
        ["can't be blank when latitude is set"]
    );
    let r = app.patch(
        &path,
        &json!({"location": {"latitude": 1.25, "longitude": 103.8}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["latitude"], 1.25);
    assert_eq!(r.body["longitude"], 103.8);
}

#[test]
fn numeric_strings_from_forms_are_accepted() {
    let app = spawn_app();
    let r = app.post_form(
        &app.store_path("/locations"),
        "location[name]=Market+Hall&location[address]=3+Market+Sq&location[latitude]=48.8566&location[longitude]=-2.3522",
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], "Market Hall");
    assert_eq!(r.body["address"], "3 Market Sq");
    assert_eq!(r.body["latitude"].as_f64(), Some(48.8566), "{}", r.text);
    assert_eq!(r.body["longitude"].as_f64(), Some(-2.3522), "{}", r.text);

    // JSON clients may send strings too, with spaces around.
    let l = create_ok(
        &app,
        json!({"name": "Str", "address": "Str", "latitude": " -33.8688 ", "longitude": "151.2093"}),
    );
    assert_eq!(l["latitude"].as_f64(), Some(-33.8688));
    assert_eq!(l["longitude"].as_f64(), Some(151.2093));

    // A form's empty fields mean "no coordinates".
    let r = app.post_form(
        &app.store_path("/locations"),
        "location[name]=Van&location[address]=Anywhere&location[latitude]=&location[longitude]=",
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["latitude"], Value::Null);

    let r = app.post_form(
        &app.store_path("/locations"),
        "location[name]=Bad&location[address]=Bad&location[latitude]=12,5&location[longitude]=1",
    );
    assert_eq!(errors_of(&r, "latitude"), ["is not a number"]);
}

#[test]
fn update_changes_only_the_given_fields() {
    let app = spawn_app();
    let l = create_ok(
        &app,
        json!({"name": "Old", "address": "1 Old Rd", "latitude": 10.0, "longitude": 20.0}),
    );
    let path = location_path(&app, &l["id"]);
    let r = app.patch(&path, &json!({"location": {"name": "New"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "New");
    assert_eq!(r.body["address"], "1 Old Rd");
    assert_eq!(r.body["latitude"], 10.0);
    assert_eq!(r.body["longitude"], 20.0);
    assert_eq!(r.body["created_at"], l["created_at"]);
    assert_eq!(app.get(&path).body, r.body);

    // PUT is accepted as an update too.
    let r = app.put(&path, &json!({"location": {"address": "2 New Rd"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "New");
    assert_eq!(r.body["address"], "2 New Rd");

    // Required fields cannot be blanked.
    let r = app.patch(&path, &json!({"location": {"name": "", "address": null}}));
    assert_eq!(errors_of(&r, "name"), ["can't be blank"]);
    assert_eq!(errors_of(&r, "address"), ["can't be blank"]);
    let r = app.patch(&path, &json!({"location": {"latitude": 95}}));
    assert_eq!(
        errors_of(&r, "latitude"),
        ["must be less than or equal to 90"]
    );
    let now = app.get(&path).body;
    assert_eq!(now["name"], "New");
    assert_eq!(now["latitude"], 10.0);
}

#[test]
fn delete_answers_204_then_the_location_is_gone() {
    let app = spawn_app();
    assert_eq!(locations_count(&app), 0);
    let a = create_ok(&app, json!({"name": "A", "address": "A"}));
    let b = create_ok(&app, json!({"name": "B", "address": "B"}));
    assert_eq!(locations_count(&app), 2);

    let path = location_path(&app, &a["id"]);
    let r = app.request("DELETE", &path, Some(&app.token), None, None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty(), "204 has no body: {}", r.text);
    assert_eq!(locations_count(&app), 1);

    for method in ["GET", "PATCH", "DELETE"] {
        let r = app.request(
            method,
            &path,
            Some(&app.token),
            Some("application/json"),
            (method == "PATCH").then_some(r#"{"name": "X"}"#),
        );
        assert_eq!(r.status, 404, "{method}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Location not found"}), "{method}");
    }
    assert_eq!(locations_count(&app), 1);
    let list = app.get(&app.store_path("/locations")).body;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], b["id"]);

    let r = app.request(
        "DELETE",
        &location_path(&app, &b["id"]),
        Some(&app.token),
        None,
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(locations_count(&app), 0);
    assert_eq!(app.get(&app.store_path("/locations")).body, json!([]));
}

#[test]
fn other_stores_locations_are_404() {
    let app = spawn_app();
    let (other_id, other_token) = app.new_store("Other Store");
    let theirs = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/locations"),
        Some(&other_token),
        Some("application/json"),
        Some(r#"{"location": {"name": "Theirs", "address": "Far away"}}"#),
    );
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    let mine = create_ok(&app, json!({"name": "Mine", "address": "Here"}));

    // Their location through my store's path.
    let path = location_path(&app, &theirs.body["id"]);
    for method in ["GET", "PATCH", "PUT", "DELETE"] {
        let r = app.request(
            method,
            &path,
            Some(&app.token),
            Some("application/json"),
            matches!(method, "PATCH" | "PUT").then_some(r#"{"location": {"name": "Mine now"}}"#),
        );
        assert_eq!(r.status, 404, "{method}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Location not found"}));
    }
    // Their store's paths with my token.
    for (method, p) in [
        ("GET", format!("/api/v1/accounts/{other_id}/locations")),
        ("POST", format!("/api/v1/accounts/{other_id}/locations")),
        (
            "GET",
            format!(
                "/api/v1/accounts/{other_id}/locations/{}",
                theirs.body["id"]
            ),
        ),
        (
            "DELETE",
            format!(
                "/api/v1/accounts/{other_id}/locations/{}",
                theirs.body["id"]
            ),
        ),
    ] {
        let r = app.request(
            method,
            &p,
            Some(&app.token),
            Some("application/json"),
            (method == "POST").then_some(r#"{"location": {"name": "X", "address": "Y"}}"#),
        );
        assert_eq!(r.status, 404, "{method} {p}: {}", r.text);
    }
    // Nothing of theirs changed, and the lists stay apart.
    let still = app.request(
        "GET",
        &format!("/api/v1/accounts/{other_id}/locations"),
        Some(&other_token),
        None,
        None,
    );
    assert_eq!(
        still.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        still.text
    );
    assert_eq!(still.body[0]["name"], "Theirs");
    let list = app.get(&app.store_path("/locations")).body;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], mine["id"]);
    assert_eq!(locations_count(&app), 1);
}

#[test]
fn non_numeric_ids_are_404() {
    let app = spawn_app();
    for id in ["abc", "0", "-1", "1.5"] {
        let r = app.get(&app.store_path(&format!("/locations/{id}")));
        assert_eq!(r.status, 404, "{id}: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------
// Locations in Apple Wallet passes
// ---------------------------------------------------------------------------------

/// Downloads the customer card's .pkpass and returns its `pass.json`.
fn pass_json(cc: &Value) -> Value {
    let url = cc["apple_wallet_url"]
        .as_str()
        .unwrap_or_else(|| panic!("apple_wallet_url: {cc}"));
    let resp = match ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .get(url)
        .call()
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    assert_eq!(resp.status(), 200, "GET {url}");
    let mut bytes = Vec::new();
    resp.into_reader().read_to_end(&mut bytes).expect("body");
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("the .pkpass is a zip");
    let mut file = zip.by_name("pass.json").expect("pass.json in the .pkpass");
    let mut json = Vec::new();
    file.read_to_end(&mut json).unwrap();
    serde_json::from_slice(&json).expect("pass.json is JSON")
}

fn enrolled_card(app: &TestApp) -> Value {
    let card = app.create_card(json!({"name": "Coffee Card"}));
    let c = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "ann@example.com"},
        "card_id": card["id"],
    }));
    c["customer_card"].clone()
}

#[test]
fn apple_passes_carry_the_stores_located_shops_at_most_ten() {
    let certs = tempfile::tempdir().expect("temp dir");
    let apple = apple_chain(certs.path());
    let app = spawn_app_with(|s| s.apple = Some(apple));
    let cc = enrolled_card(&app);

    // No locations yet: no `locations` key.
    let pass = pass_json(&cc);
    assert!(pass.get("locations").is_none(), "{pass}");

    // A shop without coordinates is left out.
    create_ok(&app, json!({"name": "Unmapped", "address": "Somewhere"}));
    let pass = pass_json(&cc);
    assert!(pass.get("locations").is_none(), "{pass}");

    // Another store's shop never shows on this store's passes.
    let (other_id, other_token) = app.new_store("Other Store");
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/locations"),
        Some(&other_token),
        Some("application/json"),
        Some(r#"{"name": "Elsewhere", "address": "X", "latitude": 1.0, "longitude": 1.0}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    let first = create_ok(
        &app,
        json!({"name": "Harbour", "address": "2 Quay Rd", "latitude": 51.5074, "longitude": -0.1278}),
    );
    let pass = pass_json(&cc);
    let locations = pass["locations"]
        .as_array()
        .unwrap_or_else(|| panic!("locations in pass.json: {pass}"));
    assert_eq!(locations.len(), 1, "{pass}");
    assert_eq!(locations[0]["latitude"], 51.5074);
    assert_eq!(locations[0]["longitude"], -0.1278);
    let text = locations[0]["relevantText"].as_str().unwrap_or_default();
    assert!(text.contains("Harbour"), "relevantText: {text}");

    // Twelve located shops: the pass lists ten of them, each a real one of this store.
    for i in 1..12 {
        create_ok(
            &app,
            json!({"name": format!("Shop {i}"), "address": "Street", "latitude": i as f64, "longitude": -(i as f64)}),
        );
    }
    let pass = pass_json(&cc);
    let locations = pass["locations"].as_array().expect("locations");
    assert_eq!(locations.len(), 10, "{pass}");
    let ours: Vec<(f64, f64)> = app
        .get(&app.store_path("/locations"))
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| Some((l["latitude"].as_f64()?, l["longitude"].as_f64()?)))
        .collect();
    assert_eq!(ours.len(), 12);
    for l in locations {
        let at = (
            l["latitude"].as_f64().unwrap(),
            l["longitude"].as_f64().unwrap(),
        );
        assert!(ours.contains(&at), "{l} is one of this store's shops");
        assert_ne!(at, (1.0, 1.0), "the other store's shop is not listed");
    }
    assert_eq!(locations[0]["latitude"], first["latitude"]);

    // Deleting a shop takes it off the passes.
    let r = app.request(
        "DELETE",
        &location_path(&app, &first["id"]),
        Some(&app.token),
        None,
        None,
    );
    assert_eq!(r.status, 204);
    let pass = pass_json(&cc);
    let locations = pass["locations"].as_array().expect("locations");
    assert_eq!(locations.len(), 10);
    assert!(locations.iter().all(|l| l["latitude"] != 51.5074), "{pass}");
}
