//! Card templates (API.md section 3 and the README's card notes).

use serde_json::{json, Value};

use crate::support::app::*;

const CARD_KEYS: [&str; 28] = [
    "id",
    "account_id",
    "name",
    "card_color",
    "text_color",
    "stamp_icon",
    "stamp_color",
    "stamp_background_color",
    "stamps_required",
    "initial_stamps",
    "strip_type",
    "strip_color",
    "strip_preset",
    "strip_opacity",
    "header_text",
    "auxiliary_fields",
    "show_member_field",
    "show_stamps_to_reward_field",
    "expires_at",
    "stamp_message",
    "archived_at",
    "max_stamps_per_visit",
    "min_minutes_between_visits",
    "max_stamps_per_day",
    "rewards_count",
    "customer_cards_count",
    "created_at",
    "updated_at",
];

const ICONS: [&str; 27] = [
    "coffee",
    "star",
    "heart",
    "check",
    "cup",
    "cake",
    "croissant",
    "pizza",
    "burger",
    "ice_cream",
    "donut",
    "beer",
    "wine",
    "cocktail",
    "leaf",
    "flower",
    "scissors",
    "paw",
    "gift",
    "smile",
    "crown",
    "diamond",
    "bolt",
    "music",
    "book",
    "dumbbell",
    "car",
];

const PRESETS: [&str; 8] = [
    "coffee_beans",
    "pastry",
    "barber",
    "confetti",
    "waves",
    "dots",
    "leaves",
    "stripes",
];

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn card_keys() -> Vec<String> {
    let mut k: Vec<String> = CARD_KEYS.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn assert_timestamp(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {v} is not a string"));
    assert!(s.ends_with('Z'), "{what}: {s}");
    assert!(
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok(),
        "{what}: {s}"
    );
}

fn is_hex_colour(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// The card without the fields the server chooses (id and times).
fn design(card: &Value) -> Value {
    let mut c = card.clone();
    let m = c.as_object_mut().unwrap();
    for k in ["id", "created_at", "updated_at"] {
        m.remove(k);
    }
    c
}

fn validation(errors: Value) -> Value {
    json!({"error": "Validation failed", "errors": errors})
}

/// POSTs `{"card": attrs}` and expects 422 with exactly `errors`.
fn assert_create_refused(app: &TestApp, attrs: Value, errors: Value) {
    let r = app.post(&app.store_path("/cards"), &json!({ "card": attrs }));
    assert_eq!(r.status, 422, "{attrs}: {}", r.text);
    assert_eq!(r.body, validation(errors), "{attrs}");
}

fn card_ids(v: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[test]
fn create_with_defaults_has_the_full_shape() {
    let app = spawn_app();
    let r = app.post(
        &app.store_path("/cards"),
        &json!({"card": {"name": "Coffee"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.body;
    assert_eq!(sorted_keys(c), card_keys(), "{c}");
    assert!(c["id"].as_i64().is_some_and(|id| id > 0), "{c}");
    assert_eq!(c["account_id"], app.store_id);
    assert_eq!(c["name"], "Coffee");
    for k in [
        "card_color",
        "text_color",
        "stamp_color",
        "stamp_background_color",
    ] {
        assert!(is_hex_colour(&c[k]), "{k}: {c}");
    }
    assert_eq!(c["stamp_icon"], "star");
    assert_eq!(c["stamps_required"], 10);
    assert_eq!(c["initial_stamps"], 0);
    assert_eq!(c["strip_type"], "color");
    assert_eq!(c["strip_color"], Value::Null);
    assert_eq!(c["strip_preset"], Value::Null);
    assert_eq!(c["strip_opacity"], 100);
    assert_eq!(c["header_text"], Value::Null);
    assert_eq!(c["auxiliary_fields"], json!([]));
    assert_eq!(c["show_member_field"], true);
    assert_eq!(c["show_stamps_to_reward_field"], true);
    assert_eq!(c["expires_at"], Value::Null);
    assert_eq!(c["stamp_message"], Value::Null);
    assert_eq!(c["archived_at"], Value::Null);
    assert_eq!(c["rewards_count"], 0);
    assert_eq!(c["customer_cards_count"], 0);
    assert_timestamp(&c["created_at"], "created_at");
    assert_eq!(c["created_at"], c["updated_at"]);

    // Show returns the same card.
    let id = c["id"].as_i64().unwrap();
    let r = app.get(&app.store_path(&format!("/cards/{id}")));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(&r.body, c);
}

#[test]
fn create_with_every_attribute() {
    let app = spawn_app();
    let r = app.post(
        &app.store_path("/cards"),
        &json!({"card": {
            "name": "Bakery",
            "card_color": "#a1b2c3",
            "text_color": "#000000",
            "stamp_icon": "croissant",
            "stamp_color": "#ff0000",
            "stamp_background_color": "#00Ff00",
            "stamps_required": 8,
            "initial_stamps": 2,
            "strip_type": "preset",
            "strip_color": "#0000ff",
            "strip_preset": "waves",
            "strip_opacity": 40,
            "header_text": "Welcome back",
            "auxiliary_fields": ["Open 7–19", "Oat milk free"],
            "show_member_field": false,
            "show_stamps_to_reward_field": "0",
            "expires_at": "2099-12-31",
            "stamp_message": "{stamps} of {required}, {remaining} to go",
            "max_stamps_per_visit": 2,
            "min_minutes_between_visits": "30",
            "max_stamps_per_day": 4.0,
        }}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        design(&r.body),
        json!({
            "account_id": app.store_id,
            "name": "Bakery",
            "card_color": "#A1B2C3",
            "text_color": "#000000",
            "stamp_icon": "croissant",
            "stamp_color": "#FF0000",
            "stamp_background_color": "#00FF00",
            "stamps_required": 8,
            "initial_stamps": 2,
            "strip_type": "preset",
            "strip_color": "#0000FF",
            "strip_preset": "waves",
            "strip_opacity": 40,
            "header_text": "Welcome back",
            "auxiliary_fields": ["Open 7–19", "Oat milk free"],
            "show_member_field": false,
            "show_stamps_to_reward_field": false,
            "expires_at": "2099-12-31T23:59:59.999Z",
            "stamp_message": "{stamps} of {required}, {remaining} to go",
            "max_stamps_per_visit": 2,
            "min_minutes_between_visits": 30,
            "max_stamps_per_day": 4,
            "archived_at": null,
            "rewards_count": 0,
            "customer_cards_count": 0,
        })
    );
    let id = r.body["id"].as_i64().unwrap();
    let shown = app.get(&app.store_path(&format!("/cards/{id}")));
    assert_eq!(shown.body, r.body);
}

#[test]
fn create_accepts_a_form_body_and_numeric_strings() {
    let app = spawn_app();
    let r = app.post_form(
        &app.store_path("/cards"),
        "card[name]=Coffee+Club&card[stamps_required]=5&card[initial_stamps]=1&card[show_member_field]=0&card[stamp_icon]=coffee&card[expires_at]=2099-01-01T12:00:00%2B02:00",
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], "Coffee Club");
    assert_eq!(r.body["stamps_required"], 5);
    assert_eq!(r.body["initial_stamps"], 1);
    assert_eq!(r.body["show_member_field"], false);
    assert_eq!(r.body["show_stamps_to_reward_field"], true);
    assert_eq!(r.body["stamp_icon"], "coffee");
    assert_eq!(r.body["expires_at"], "2099-01-01T10:00:00.000Z");

    let r = app.post(
        &app.store_path("/cards"),
        &json!({"card": {"name": "Strings", "stamps_required": "7", "initial_stamps": "3"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["stamps_required"], 7);
    assert_eq!(r.body["initial_stamps"], 3);
}

#[test]
fn every_stamp_icon_and_strip_preset_is_accepted() {
    let app = spawn_app();
    for icon in ICONS {
        let c = app.create_card(json!({"name": icon, "stamp_icon": icon}));
        assert_eq!(c["stamp_icon"], icon);
    }
    for preset in PRESETS {
        let c = app
            .create_card(json!({"name": preset, "strip_type": "preset", "strip_preset": preset}));
        assert_eq!(c["strip_preset"], preset);
        assert_eq!(c["strip_type"], "preset");
    }
    for t in ["color", "image"] {
        let c = app.create_card(json!({"name": t, "strip_type": t}));
        assert_eq!(c["strip_type"], t);
    }
}

#[test]
fn name_is_required() {
    let app = spawn_app();
    let blank = json!({"name": ["can't be blank"]});
    assert_create_refused(&app, json!({}), blank.clone());
    assert_create_refused(&app, json!({"name": ""}), blank.clone());
    assert_create_refused(&app, json!({"name": "   "}), blank.clone());
    assert_create_refused(&app, json!({"name": null}), blank.clone());
    assert_create_refused(&app, json!({"stamps_required": 5}), blank);
    assert_create_refused(
        &app,
        json!({"name": "x".repeat(101)}),
        json!({"name": ["is too long (maximum is 100 characters)"]}),
    );
    // Nothing was created.
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));
    assert_eq!(app.get(&app.store_path("")).body["cards_count"], 0);
    let c = app.create_card(json!({"name": "x".repeat(100)}));
    assert_eq!(c["name"], "x".repeat(100));
}

#[test]
fn stamps_required_is_1_to_21() {
    let app = spawn_app();
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": 0}),
        json!({"stamps_required": ["must be greater than or equal to 1"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": -3}),
        json!({"stamps_required": ["must be greater than or equal to 1"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": 22}),
        json!({"stamps_required": ["must be less than or equal to 21"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": "abc"}),
        json!({"stamps_required": ["is not a number"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": 2.5}),
        json!({"stamps_required": ["must be an integer"]}),
    );
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));

    let c = app.create_card(json!({"name": "Max", "stamps_required": 21}));
    assert_eq!(c["stamps_required"], 21);
    let c = app.create_card(json!({"name": "Min", "stamps_required": 1}));
    assert_eq!(c["stamps_required"], 1);
    assert_eq!(c["initial_stamps"], 0);
}

#[test]
fn initial_stamps_is_0_to_stamps_required_minus_1() {
    let app = spawn_app();
    assert_create_refused(
        &app,
        json!({"name": "C", "initial_stamps": -1}),
        json!({"initial_stamps": ["must be greater than or equal to 0"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "initial_stamps": 10}),
        json!({"initial_stamps": ["must be less than stamps_required (10)"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": 5, "initial_stamps": 5}),
        json!({"initial_stamps": ["must be less than stamps_required (5)"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamps_required": 5, "initial_stamps": 9}),
        json!({"initial_stamps": ["must be less than stamps_required (5)"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "initial_stamps": "two"}),
        json!({"initial_stamps": ["is not a number"]}),
    );
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));

    let c = app.create_card(json!({"name": "C", "stamps_required": 5, "initial_stamps": 4}));
    assert_eq!(c["initial_stamps"], 4);
    let c = app.create_card(json!({"name": "D", "initial_stamps": 9}));
    assert_eq!(c["initial_stamps"], 9);
}

#[test]
fn colours_must_be_rrggbb() {
    let app = spawn_app();
    let msg = "must be a hex colour like #RRGGBB";
    for key in [
        "card_color",
        "text_color",
        "stamp_color",
        "stamp_background_color",
        "strip_color",
    ] {
        for bad in [
            "red", "#abc", "#GGGGGG", "a1b2c3", "#a1b2c3d", "#12345", "##12345",
        ] {
            assert_create_refused(&app, json!({"name": "C", key: bad}), json!({ key: [msg] }));
        }
    }
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));
}

#[test]
fn strip_type_and_stamp_icon_come_from_their_lists() {
    let app = spawn_app();
    assert_create_refused(
        &app,
        json!({"name": "C", "strip_type": "video"}),
        json!({"strip_type": ["is not included in the list (color, image, preset)"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "stamp_icon": "spaceship"}),
        json!({"stamp_icon": [format!("is not included in the list ({})", ICONS.join(", "))]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "strip_type": "preset", "strip_preset": "rainbow"}),
        json!({"strip_preset": [format!("is not included in the list ({})", PRESETS.join(", "))]}),
    );
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));
}

#[test]
fn preset_strip_needs_a_preset() {
    let app = spawn_app();
    assert_create_refused(
        &app,
        json!({"name": "C", "strip_type": "preset"}),
        json!({"strip_preset": ["can't be blank when strip_type is preset"]}),
    );
    assert_create_refused(
        &app,
        json!({"name": "C", "strip_type": "preset", "strip_preset": null}),
        json!({"strip_preset": ["can't be blank when strip_type is preset"]}),
    );
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));
}

#[test]
fn expires_at_must_be_a_time_or_a_date() {
    let app = spawn_app();
    for bad in [
        "31/12/2026",
        "2026-02-30",
        "tomorrow",
        "2026-13-01",
        "2026-01-01T25:00:00Z",
    ] {
        assert_create_refused(
            &app,
            json!({"name": "C", "expires_at": bad}),
            json!({"expires_at": ["is invalid (use an ISO 8601 time or YYYY-MM-DD)"]}),
        );
    }
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));
    let c = app.create_card(json!({"name": "C", "expires_at": "2099-06-30T08:30:00Z"}));
    assert_eq!(c["expires_at"], "2099-06-30T08:30:00.000Z");
}

#[test]
fn all_errors_are_reported_at_once() {
    let app = spawn_app();
    assert_create_refused(
        &app,
        json!({
            "stamps_required": 0,
            "card_color": "red",
            "stamp_icon": "spaceship",
            "strip_type": "video",
            "expires_at": "soon",
        }),
        json!({
            "name": ["can't be blank"],
            "stamps_required": ["must be greater than or equal to 1"],
            "card_color": ["must be a hex colour like #RRGGBB"],
            "stamp_icon": [format!("is not included in the list ({})", ICONS.join(", "))],
            "strip_type": ["is not included in the list (color, image, preset)"],
            "expires_at": ["is invalid (use an ISO 8601 time or YYYY-MM-DD)"],
        }),
    );
}

#[test]
fn update_is_partial() {
    let app = spawn_app();
    let card = app.create_card(json!({
        "name": "Coffee",
        "stamps_required": 8,
        "header_text": "Hello",
        "stamp_icon": "coffee",
        "strip_color": "#112233",
    }));
    let id = card["id"].as_i64().unwrap();
    let path = app.store_path(&format!("/cards/{id}"));

    let r = app.patch(&path, &json!({"card": {"name": "Tea"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    let mut expected = design(&card);
    expected["name"] = json!("Tea");
    assert_eq!(design(&r.body), expected);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["created_at"], card["created_at"]);
    assert_timestamp(&r.body["updated_at"], "updated_at");
    assert!(r.body["updated_at"].as_str() >= card["updated_at"].as_str());

    let r = app.patch(
        &path,
        &json!({"card": {"stamps_required": 12, "card_color": "#abcdef", "header_text": null, "show_member_field": "false"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    expected["stamps_required"] = json!(12);
    expected["card_color"] = json!("#ABCDEF");
    expected["header_text"] = Value::Null;
    expected["show_member_field"] = json!(false);
    assert_eq!(design(&r.body), expected);
    assert_eq!(app.get(&path).body, r.body);

    // PUT works the same way.
    let r = app.put(&path, &json!({"card": {"stamp_icon": "heart"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    expected["stamp_icon"] = json!("heart");
    assert_eq!(design(&r.body), expected);

    // An empty update changes nothing.
    let r = app.patch(&path, &json!({"card": {}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(design(&r.body), expected);
}

#[test]
fn update_validates_the_result() {
    let app = spawn_app();
    let card =
        app.create_card(json!({"name": "Coffee", "stamps_required": 8, "initial_stamps": 3}));
    let id = card["id"].as_i64().unwrap();
    let path = app.store_path(&format!("/cards/{id}"));

    let cases = [
        (json!({"name": null}), json!({"name": ["can't be blank"]})),
        (json!({"name": ""}), json!({"name": ["can't be blank"]})),
        (
            json!({"stamps_required": 22}),
            json!({"stamps_required": ["must be less than or equal to 21"]}),
        ),
        (
            json!({"stamps_required": 3}),
            json!({"initial_stamps": ["must be less than stamps_required (3)"]}),
        ),
        (
            json!({"initial_stamps": 8}),
            json!({"initial_stamps": ["must be less than stamps_required (8)"]}),
        ),
        (
            json!({"text_color": "white"}),
            json!({"text_color": ["must be a hex colour like #RRGGBB"]}),
        ),
        (
            json!({"strip_type": "preset"}),
            json!({"strip_preset": ["can't be blank when strip_type is preset"]}),
        ),
        (
            json!({"expires_at": "never"}),
            json!({"expires_at": ["is invalid (use an ISO 8601 time or YYYY-MM-DD)"]}),
        ),
    ];
    for (attrs, errors) in cases {
        let r = app.patch(&path, &json!({ "card": attrs }));
        assert_eq!(r.status, 422, "{attrs}: {}", r.text);
        assert_eq!(r.body, validation(errors), "{attrs}");
    }
    // The card is as it was.
    assert_eq!(app.get(&path).body, card);
}

#[test]
fn archive_and_restore() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));
    let id = card["id"].as_i64().unwrap();
    let path = app.store_path(&format!("/cards/{id}"));

    let r = app.patch(&path, &json!({"card": {"archived": true}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_timestamp(&r.body["archived_at"], "archived_at");
    assert!(r.body["archived_at"].as_str() >= card["created_at"].as_str());
    assert_eq!(r.body["name"], "Coffee");
    assert_eq!(sorted_keys(&r.body), card_keys());
    let archived_at = r.body["archived_at"].clone();
    assert_eq!(app.get(&path).body["archived_at"], archived_at);

    // Archiving again keeps the first time.
    let r = app.patch(&path, &json!({"card": {"archived": "1"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["archived_at"], archived_at);

    let r = app.patch(&path, &json!({"card": {"archived": false}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["archived_at"], Value::Null);
    assert_eq!(app.get(&path).body["archived_at"], Value::Null);

    // Form bodies too.
    let r = app.request(
        "PATCH",
        &path,
        Some(&app.token),
        Some("application/x-www-form-urlencoded"),
        Some("card[archived]=1"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_timestamp(&r.body["archived_at"], "archived_at");
    let r = app.request(
        "PATCH",
        &path,
        Some(&app.token),
        Some("application/x-www-form-urlencoded"),
        Some("card[archived]=0"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["archived_at"], Value::Null);

    let r = app.patch(&path, &json!({"card": {"archived": "maybe"}}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"archived": ["must be one of: true, false, 1, 0"]}))
    );
}

#[test]
fn list_scopes() {
    let app = spawn_app();
    let a = app.create_card(json!({"name": "A"}))["id"]
        .as_i64()
        .unwrap();
    let b = app.create_card(json!({"name": "B"}))["id"]
        .as_i64()
        .unwrap();
    let c = app.create_card(json!({"name": "C"}))["id"]
        .as_i64()
        .unwrap();
    let r = app.patch(
        &app.store_path(&format!("/cards/{b}")),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    let list = app.get(&app.store_path("/cards"));
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(card_ids(&list.body), vec![a, c]);
    for card in list.body.as_array().unwrap() {
        assert_eq!(sorted_keys(card), card_keys());
        assert_eq!(card["archived_at"], Value::Null);
    }
    assert_eq!(
        card_ids(&app.get(&app.store_path("/cards?scope=active")).body),
        vec![a, c]
    );
    let archived = app.get(&app.store_path("/cards?scope=archived"));
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(card_ids(&archived.body), vec![b]);
    assert_timestamp(&archived.body[0]["archived_at"], "archived_at");
    assert_eq!(
        card_ids(&app.get(&app.store_path("/cards?scope=all")).body),
        vec![a, b, c]
    );

    for bad in ["bogus", "ALL2", "deleted"] {
        let r = app.get(&app.store_path(&format!("/cards?scope={bad}")));
        assert_eq!(r.status, 422, "scope={bad}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"scope": ["is not included in the list (active, archived, all)"]}))
        );
    }
}

#[test]
fn counts_of_rewards_and_enrolments() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee", "initial_stamps": 2}));
    let other = app.create_card(json!({"name": "Tea"}));
    let id = card["id"].as_i64().unwrap();
    assert_eq!(card["rewards_count"], 0);
    assert_eq!(card["customer_cards_count"], 0);

    for (i, name) in ["Ann", "Bob", "Cy"].iter().enumerate() {
        let c = app.create_customer(json!({
            "customer": {"first_name": name, "email": format!("c{i}@example.com")},
            "card_id": id,
        }));
        assert_eq!(c["customer_card"]["card_id"], id);
    }
    // Without a card_id there is no enrolment.
    app.create_customer(json!({"customer": {"first_name": "Dee", "email": "dee@example.com"}}));

    let shown = app.get(&app.store_path(&format!("/cards/{id}"))).body;
    assert_eq!(shown["customer_cards_count"], 3, "{shown}");
    assert_eq!(shown["rewards_count"], 0, "{shown}");
    let other_shown = app
        .get(&app.store_path(&format!("/cards/{}", other["id"])))
        .body;
    assert_eq!(other_shown["customer_cards_count"], 0);
    let list = app.get(&app.store_path("/cards")).body;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .expect("card in list");
    assert_eq!(listed["customer_cards_count"], 3);
}

#[test]
fn enrolling_into_an_expired_card_is_422() {
    let app = spawn_app();
    for expired in ["2020-01-01", "2020-06-01T12:00:00Z"] {
        let card = app.create_card(json!({"name": "Old", "expires_at": expired}));
        let r = app.post(
            &app.store_path("/customers"),
            &json!({
                "customer": {"first_name": "Ann", "email": "ann@example.com"},
                "card_id": card["id"],
            }),
        );
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.body, validation(json!({"card_id": ["has expired"]})));
        let shown = app
            .get(&app.store_path(&format!("/cards/{}", card["id"])))
            .body;
        assert_eq!(shown["customer_cards_count"], 0);
    }
    // The customer was not created either.
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);

    // A card expiring in the future takes enrolments.
    let card = app.create_card(json!({"name": "New", "expires_at": "2099-01-01"}));
    let c = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "ann@example.com"},
        "card_id": card["id"],
    }));
    assert_eq!(c["customer_card"]["card_id"], card["id"]);
}

#[test]
fn enrolling_into_an_archived_card_is_422() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Old", "archived": true}));
    assert_timestamp(&card["archived_at"], "archived_at");
    let r = app.post(
        &app.store_path("/customers"),
        &json!({
            "customer": {"first_name": "Ann", "email": "ann@example.com"},
            "card_id": card["id"],
        }),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, validation(json!({"card_id": ["is archived"]})));
}

#[test]
fn unknown_or_non_integer_card_ids_are_404() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));
    let id = card["id"].as_i64().unwrap();
    for rest in [
        "999999".to_string(),
        "0".to_string(),
        "-1".to_string(),
        "abc".to_string(),
        format!("{id}.0"),
        format!("{id}abc"),
        "99999999999999999999999".to_string(),
    ] {
        let path = app.store_path(&format!("/cards/{rest}"));
        let r = app.get(&path);
        assert_eq!(r.status, 404, "GET {path}: {}", r.text);
        assert!(r.body["error"].is_string(), "{}", r.text);
        let r = app.patch(&path, &json!({"card": {"name": "X"}}));
        assert_eq!(r.status, 404, "PATCH {path}: {}", r.text);
    }
    let r = app.get(&app.store_path("/cards/999999"));
    assert_eq!(r.body, json!({"error": "Card not found"}));
    // The real card was not touched.
    assert_eq!(app.get(&app.store_path(&format!("/cards/{id}"))).body, card);
}

#[test]
fn a_card_of_another_store_is_404() {
    let app = spawn_app();
    let (b, token_b) = app.new_store("Store B");
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{b}/cards"),
        Some(&token_b),
        Some("application/json"),
        Some(r#"{"card": {"name": "B card"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other = r.body["id"].as_i64().unwrap();
    // Through our own store's path, the card of store B does not exist.
    let r = app.get(&app.store_path(&format!("/cards/{other}")));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body, json!({"error": "Card not found"}));
    let r = app.patch(
        &app.store_path(&format!("/cards/{other}")),
        &json!({"card": {"name": "Hacked"}}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(app.get(&app.store_path("/cards?scope=all")).body, json!([]));
    // Nor can a customer of ours be enrolled into it.
    let r = app.post(
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": other}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, validation(json!({"card_id": ["not found"]})));
}

/// `stamp_message` is the shop's wording of the notice a saved pass shows when its
/// stamps change: placeholders it knows, at most 100 characters, no control characters;
/// null goes back to stampd's wording.
#[test]
fn stamp_message_takes_known_placeholders_and_null_clears_it() {
    let app = spawn_app();
    let card = app.create_card(
        json!({"name": "Coffee", "stamp_message": "  {remaining} more to a free coffee!  "}),
    );
    assert_eq!(card["stamp_message"], "{remaining} more to a free coffee!");
    let path = app.store_path(&format!("/cards/{}", card["id"]));
    for (bad, message) in [
        (
            json!("{count} stamps"),
            "has an unknown placeholder {count} (use {stamps}, {required}, {remaining})",
        ),
        (json!("{stamps"), "has a { without its }"),
        (
            json!("x".repeat(101)),
            "is too long (maximum is 100 characters)",
        ),
    ] {
        let r = app.patch(&path, &json!({"card": {"stamp_message": bad}}));
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(
            r.body["errors"]["stamp_message"],
            json!([message]),
            "{}",
            r.text
        );
    }
    let r = app.patch(&path, &json!({"card": {"stamp_message": "Line\nbreak"}}));
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app.patch(
        &path,
        &json!({"card": {"stamp_message": "{stamps}/{required}"}}),
    );
    assert_eq!(r.body["stamp_message"], "{stamps}/{required}", "{}", r.text);
    let r = app.patch(&path, &json!({"card": {"stamp_message": null}}));
    assert_eq!(r.body["stamp_message"], Value::Null, "{}", r.text);
}

#[test]
fn strip_opacity_is_a_whole_percentage() {
    let app = spawn_app();
    for (given, stored) in [
        (json!(0), 0),
        (json!(100), 100),
        (json!("55"), 55),
        // Leal's SDK types the field as a float: a whole one is the number it writes.
        (json!(60.0), 60),
        (json!("70.0"), 70),
    ] {
        let c = app.create_card(json!({"name": "C", "strip_opacity": given}));
        assert_eq!(c["strip_opacity"], stored, "{given}");
    }
    for (given, message) in [
        (json!(-1), "must be greater than or equal to 0"),
        (json!(101), "must be less than or equal to 100"),
        (json!(60.5), "must be an integer"),
        (json!("half"), "is not a number"),
        (json!([50]), "is not a number"),
    ] {
        assert_create_refused(
            &app,
            json!({"name": "C", "strip_opacity": given}),
            json!({ "strip_opacity": [message] }),
        );
    }

    // Changed alone; null is the default again; a refused value changes nothing.
    let c = app.create_card(json!({"name": "C", "strip_opacity": 30}));
    let path = app.store_path(&format!("/cards/{}", c["id"]));
    let r = app.patch(&path, &json!({"card": {"strip_opacity": 80}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["strip_opacity"], 80);
    let r = app.patch(&path, &json!({"card": {"strip_opacity": 200}}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(app.get(&path).body["strip_opacity"], 80);
    let r = app.patch(&path, &json!({"card": {"strip_opacity": null}}));
    assert_eq!(r.body["strip_opacity"], 100, "{}", r.text);
}

#[test]
fn auxiliary_fields_are_at_most_two_short_lines() {
    let app = spawn_app();
    let c = app.create_card(
        json!({"name": "C", "auxiliary_fields": [" Open 7–19 ", "", "   ", null, "Oat milk free"]}),
    );
    assert_eq!(
        c["auxiliary_fields"],
        json!(["Open 7–19", "Oat milk free"]),
        "trimmed, blanks dropped"
    );
    let forty = "x".repeat(40);
    let c = app.create_card(json!({"name": "C", "auxiliary_fields": [forty, 7]}));
    assert_eq!(c["auxiliary_fields"], json!([forty, "7"]));
    let r = app.post_form(
        &app.store_path("/cards"),
        "card[name]=Form&card[auxiliary_fields][]=Open+late&card[auxiliary_fields][]=",
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["auxiliary_fields"], json!(["Open late"]));

    for (given, message) in [
        (json!(["a", "b", "c"]), "is too long (maximum is 2 entries)"),
        (
            json!([format!("{forty}y")]),
            "has an entry that is too long (maximum is 40 characters)",
        ),
        (
            json!(["two\nlines"]),
            "has an entry that contains characters that are not allowed (control characters, line breaks, text-direction controls or invisible characters)",
        ),
        (json!("Open late"), "must be an array of text"),
        (json!([["nested"]]), "must be an array of text"),
        (json!({"line": "x"}), "must be an array of text"),
    ] {
        assert_create_refused(
            &app,
            json!({"name": "C", "auxiliary_fields": given}),
            json!({ "auxiliary_fields": [message] }),
        );
    }

    // Replaced whole on update; null or [] clears them.
    let path = app.store_path(&format!("/cards/{}", c["id"]));
    let r = app.patch(&path, &json!({"card": {"auxiliary_fields": ["Only one"]}}));
    assert_eq!(
        r.body["auxiliary_fields"],
        json!(["Only one"]),
        "{}",
        r.text
    );
    let r = app.patch(&path, &json!({"card": {"header_text": "Hi"}}));
    assert_eq!(r.body["auxiliary_fields"], json!(["Only one"]), "kept");
    for clear in [json!(null), json!([]), json!(["", " "])] {
        app.patch(&path, &json!({"card": {"auxiliary_fields": ["Back"]}}));
        let r = app.patch(&path, &json!({"card": { "auxiliary_fields": clear }}));
        assert_eq!(r.status, 200, "{clear}: {}", r.text);
        assert_eq!(r.body["auxiliary_fields"], json!([]), "{clear}");
    }
}
