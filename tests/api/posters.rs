//! Posters (`/accounts/:account_id/posters`): QR-code signup sheets for one card. CRUD
//! with the contract's fields (Leal's), defaults and validations (`card_id` of this store,
//! active, and immutable; `title` optional with stampd's default; paper sizes and contact
//! modes from their lists, stampd's earlier names as aliases; `#RRGGBB` colours;
//! booleans; `minimum_age` only with `require_birthday`), the `card_id` and `active`
//! filters of the list, the three public URLs, `posters_count` on the store.
//! The public side: the printable poster at `display_url` (print CSS for its paper size,
//! its colours, title, card name, reward offer, and an inline SVG QR code that really
//! decodes to `qr_code_url`), and 404 pages once a poster is deleted or deactivated.

use serde_json::{json, Value};

use crate::qr::decode_qr;
use crate::support::app::*;

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

fn card(app: &TestApp, name: &str) -> i64 {
    app.create_card(json!({"name": name, "stamps_required": 8}))["id"]
        .as_i64()
        .expect("card id")
}

fn create(app: &TestApp, attrs: Value) -> Resp {
    app.post(&app.store_path("/posters"), &json!({ "poster": attrs }))
}

fn create_ok(app: &TestApp, attrs: Value) -> Value {
    let r = create(app, attrs);
    assert_eq!(r.status, 201, "create poster: {}", r.text);
    r.body
}

fn poster_path(app: &TestApp, id: &Value) -> String {
    app.store_path(&format!("/posters/{id}"))
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

fn posters_count(app: &TestApp) -> i64 {
    let s = app.get(&app.store_path(""));
    assert_eq!(s.status, 200, "{}", s.text);
    s.body["posters_count"]
        .as_i64()
        .unwrap_or_else(|| panic!("posters_count: {}", s.text))
}

fn all_posters(app: &TestApp) -> Vec<Value> {
    let r = app.get(&app.store_path("/posters"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("the list is an array: {}", r.text))
        .clone()
}

/// A public URL of a poster (as the API gives it), fetched without a token.
fn public(app: &TestApp, url: &Value) -> Resp {
    let url = url.as_str().unwrap_or_else(|| panic!("a URL: {url}"));
    let path = url
        .strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("{url} is on {}", app.base));
    app.request("GET", path, None, None, None)
}

/// A friendly HTML 404, not JSON.
fn assert_html_404(r: &Resp, what: &str) {
    assert_eq!(r.status, 404, "{what}: {}", r.text);
    let ct = r.header("Content-Type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{what}: Content-Type {ct}");
    assert_eq!(r.body, Value::Null, "{what}: not JSON: {}", r.text);
    assert!(
        r.text.contains("no longer active"),
        "{what}: a page that says so: {}",
        r.text
    );
}

fn delete(app: &TestApp, path: &str) -> Resp {
    app.request("DELETE", path, Some(&app.token), None, None)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

// ---------------------------------------------------------------------------------
// CRUD
// ---------------------------------------------------------------------------------

#[test]
fn create_with_defaults_and_the_three_urls() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let p = create_ok(&app, json!({"card_id": card_id, "title": "Join our club"}));
    let id = p["id"].as_i64().expect("id");
    assert!(id > 0);
    assert_eq!(p["account_id"], app.store_id);
    assert_eq!(p["card_id"], card_id);
    assert_eq!(p["title"], "Join our club");
    assert_eq!(p["paper_size"], "a4");
    assert_eq!(p["primary_color"], "#3B2F2F");
    assert_eq!(p["secondary_color"], "#F5B041");
    assert_eq!(p["text_color"], "#FFFFFF");
    assert_eq!(p["contact_collection_mode"], "email_and_phone");
    assert_eq!(p["collect_email"], true);
    assert_eq!(p["collect_phone"], true);
    assert_eq!(p["require_email"], false);
    assert_eq!(p["require_phone"], false);
    assert_eq!(p["require_birthday"], false);
    assert_eq!(p["minimum_age"], Value::Null);
    assert_eq!(p["active"], true);
    // Leal's fields, in Leal's order, and nothing else.
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "account_id",
            "card_id",
            "title",
            "paper_size",
            "primary_color",
            "secondary_color",
            "text_color",
            "active",
            "contact_collection_mode",
            "collect_email",
            "collect_phone",
            "require_email",
            "require_phone",
            "require_birthday",
            "minimum_age",
            "signup_url",
            "qr_code_url",
            "display_url",
            "created_at",
            "updated_at"
        ]
    );
    for key in ["created_at", "updated_at"] {
        assert!(p[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }

    // The three URLs share one random token that is not the poster's id.
    let signup = p["signup_url"].as_str().expect("signup_url");
    let token = signup
        .strip_prefix(&format!("{}/s/", app.base))
        .unwrap_or_else(|| panic!("signup_url {signup} is <base>/s/<token>"));
    assert!(
        token.len() >= 22 && token.chars().all(|c| c.is_ascii_alphanumeric()),
        "an unguessable URL-safe token: {token}"
    );
    assert_ne!(token, id.to_string());
    assert_eq!(
        p["qr_code_url"],
        format!("{}/s/{token}?via=qr", app.base),
        "{p}"
    );
    assert_eq!(
        p["display_url"],
        format!("{}/posters/{token}", app.base),
        "{p}"
    );
    // The token itself is never a field of its own.
    assert!(p.get("token").is_none(), "{p}");

    // Each poster gets its own token.
    let q = create_ok(&app, json!({"card_id": card_id, "title": "Second"}));
    assert_ne!(q["signup_url"], p["signup_url"]);

    let shown = app.get(&poster_path(&app, &p["id"]));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.body, p);
    let list = all_posters(&app);
    assert_eq!(list, vec![p, q]);
}

#[test]
fn every_field_can_be_set_on_create() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let p = create_ok(
        &app,
        json!({
            "card_id": card_id,
            "title": "Free coffee after 8",
            "paper_size": "letter",
            "primary_color": "#112233",
            "secondary_color": "#abcdef",
            "text_color": "#000000",
            "contact_collection_mode": "email_only",
            "require_email": true,
            "require_phone": true,
            "require_birthday": true,
            "minimum_age": 21,
            "active": false,
        }),
    );
    assert_eq!(p["paper_size"], "letter");
    assert_eq!(p["primary_color"], "#112233");
    assert_eq!(
        p["secondary_color"], "#ABCDEF",
        "colours are stored upper-case"
    );
    assert_eq!(p["text_color"], "#000000");
    assert_eq!(p["contact_collection_mode"], "email_only");
    assert_eq!(p["collect_email"], true);
    assert_eq!(p["collect_phone"], false);
    assert_eq!(p["require_email"], true);
    assert_eq!(
        p["require_phone"], true,
        "kept as set, though not collected"
    );
    assert_eq!(p["require_birthday"], true);
    assert_eq!(p["minimum_age"], 21);
    assert_eq!(p["active"], false);
}

#[test]
fn card_id_may_sit_beside_the_root_key_and_forms_work() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let r = app.post(
        &app.store_path("/posters"),
        &json!({"poster": {"title": "Beside"}, "card_id": card_id}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["card_id"], card_id);

    let r = app.post(
        &app.store_path("/posters"),
        &json!({"title": "Root-less", "card_id": card_id.to_string()}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["card_id"], card_id);

    let r = app.post_form(
        &app.store_path("/posters"),
        &format!(
            "poster[card_id]={card_id}&poster[title]=Form+poster&poster[paper_size]=a6&poster[active]=1&poster[require_birthday]=true&poster[minimum_age]=16"
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["title"], "Form poster");
    assert_eq!(r.body["paper_size"], "a6");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["require_birthday"], true);
    assert_eq!(r.body["minimum_age"], 16);
    assert_eq!(posters_count(&app), 3);
}

#[test]
fn card_id_is_required_and_must_be_an_open_card_of_this_store() {
    let app = spawn_app();
    let r = create(&app, json!({"title": "No card"}));
    assert_eq!(errors_of(&r, "card_id"), ["can't be blank"]);
    let r = create(&app, json!({}));
    assert_eq!(errors_of(&r, "card_id"), ["can't be blank"]);
    assert_eq!(
        r.body["errors"].as_object().map(|e| e.len()),
        Some(1),
        "only card_id is required"
    );
    let r = create(&app, json!({"title": "Blank card", "card_id": ""}));
    assert_eq!(errors_of(&r, "card_id"), ["can't be blank"]);
    let r = create(&app, json!({"title": "Word", "card_id": "three"}));
    assert_eq!(errors_of(&r, "card_id").len(), 1, "{}", r.text);

    // Another store's card, or no card at all: 404, as if it did not exist.
    let (other_id, other_token) = app.new_store("Other Store");
    let theirs = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/cards"),
        Some(&other_token),
        Some("application/json"),
        Some(r#"{"card": {"name": "Their card"}}"#),
    );
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    for card_id in [theirs.body["id"].clone(), json!(999_999)] {
        let r = create(&app, json!({"title": "Theirs", "card_id": card_id}));
        assert_eq!(r.status, 404, "{card_id}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Card not found"}));
    }

    // An archived or expired card cannot get new posters.
    let archived = card(&app, "Old card");
    let r = app.patch(
        &app.store_path(&format!("/cards/{archived}")),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = create(&app, json!({"title": "Archived", "card_id": archived}));
    assert_eq!(errors_of(&r, "card_id"), ["is archived or expired"]);

    let expired = card(&app, "Summer card");
    app.conn()
        .execute(
            "UPDATE cards SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
            [expired],
        )
        .unwrap();
    let r = create(&app, json!({"title": "Expired", "card_id": expired}));
    assert_eq!(errors_of(&r, "card_id"), ["is archived or expired"]);

    assert_eq!(posters_count(&app), 0);
    assert!(all_posters(&app).is_empty());
}

#[test]
fn without_a_title_stampd_writes_one_from_the_card() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    // No reward: the card's name.
    for attrs in [
        json!({"card_id": card_id}),
        json!({"card_id": card_id, "title": ""}),
        json!({"card_id": card_id, "title": "   "}),
        json!({"card_id": card_id, "title": null}),
    ] {
        let p = create_ok(&app, attrs.clone());
        assert_eq!(p["title"], "Join Coffee Card", "{attrs}");
    }
    // The first active reward by position (not the cheapest, not an inactive one).
    let reward = |name: &str, stamps: i64, position: i64, active: bool| {
        app.post_ok(
            &app.store_path("/rewards"),
            json!({"reward": {"card_id": card_id, "name": name, "stamps_required": stamps,
                "position": position, "active": active}}),
        )
    };
    reward("Muffin", 3, 0, false);
    reward("Free flat white", 8, 1, true);
    reward("Cookie", 2, 2, true);
    let p = create_ok(&app, json!({"card_id": card_id}));
    assert_eq!(p["title"], "Collect 8 stamps for Free flat white");

    // Given, it is kept; null or blank on update writes stampd's again.
    let path = poster_path(&app, &p["id"]);
    let r = app.patch(&path, &json!({"poster": {"title": "Our club"}}));
    assert_eq!(r.body["title"], "Our club", "{}", r.text);
    let r = app.patch(&path, &json!({"poster": {"paper_size": "a5"}}));
    assert_eq!(r.body["title"], "Our club", "kept");
    for blank in [json!(null), json!(" ")] {
        app.patch(&path, &json!({"poster": {"title": "Our club"}}));
        let r = app.patch(&path, &json!({"poster": { "title": blank }}));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["title"], "Collect 8 stamps for Free flat white");
    }

    // Within the title's 100 characters, cut short when the names are long.
    let long = card(&app, &"L".repeat(100));
    let p = create_ok(&app, json!({"card_id": long}));
    let title = p["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 100, "{title}");
    assert!(
        title.starts_with("Join LLL") && title.ends_with("L…"),
        "{title}"
    );

    let r = create(&app, json!({"card_id": card_id, "title": "t".repeat(101)}));
    assert_eq!(
        errors_of(&r, "title"),
        ["is too long (maximum is 100 characters)"]
    );
    let p = create_ok(&app, json!({"card_id": card_id, "title": "t".repeat(100)}));
    assert_eq!(p["title"].as_str().map(str::len), Some(100));
}

#[test]
fn paper_size_and_contact_mode_come_from_their_lists() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    for size in ["a4", "a5", "a6", "letter"] {
        let p = create_ok(
            &app,
            json!({"card_id": card_id, "title": size, "paper_size": size}),
        );
        assert_eq!(p["paper_size"], size);
    }
    let p = create_ok(
        &app,
        json!({"card_id": card_id, "title": "Upper", "paper_size": "A5"}),
    );
    assert_eq!(p["paper_size"], "a5", "case-insensitive, stored lower-case");
    for bad in [json!("a3"), json!("legal"), json!(4)] {
        let r = create(
            &app,
            json!({"card_id": card_id, "title": "Bad", "paper_size": bad}),
        );
        let e = errors_of(&r, "paper_size");
        if bad.is_string() {
            assert_eq!(
                e,
                ["is not included in the list (a4, a5, a6, letter)"],
                "{bad}"
            );
        } else {
            assert_eq!(e.len(), 1, "{bad}: {}", r.text);
        }
    }
    let r = create(
        &app,
        json!({"card_id": card_id, "title": "Null", "paper_size": null}),
    );
    assert_eq!(errors_of(&r, "paper_size"), ["can't be blank"]);

    // Leal's names, and stampd's earlier ones as aliases; answers use Leal's.
    for (mode, answer, email, phone) in [
        ("email_and_phone", "email_and_phone", true, true),
        ("email_only", "email_only", true, false),
        ("PHONE_ONLY", "phone_only", false, true),
        ("email_or_phone", "email_and_phone", true, true),
        ("email", "email_only", true, false),
        ("phone", "phone_only", false, true),
    ] {
        let p = create_ok(
            &app,
            json!({"card_id": card_id, "title": mode, "contact_collection_mode": mode}),
        );
        assert_eq!(p["contact_collection_mode"], answer, "{mode}");
        assert_eq!(p["collect_email"], email, "{mode}");
        assert_eq!(p["collect_phone"], phone, "{mode}");
        assert_eq!(p["require_email"], false, "{mode}");
        assert_eq!(p["require_phone"], false, "{mode}");
    }
    let r = create(
        &app,
        json!({"card_id": card_id, "title": "Fax", "contact_collection_mode": "fax"}),
    );
    assert_eq!(
        errors_of(&r, "contact_collection_mode"),
        ["is not included in the list (email_and_phone, email_only, phone_only)"]
    );
    // Read-only fields sent anyway change nothing.
    let p = create_ok(
        &app,
        json!({"card_id": card_id, "contact_collection_mode": "email_only", "collect_phone": true}),
    );
    assert_eq!(p["collect_phone"], false);
    assert_eq!(posters_count(&app), 12);
}

#[test]
fn colours_are_hex_and_stored_upper_case() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    for key in ["primary_color", "secondary_color", "text_color"] {
        let p = create_ok(
            &app,
            json!({"card_id": card_id, "title": key, key: "#a1b2c3"}),
        );
        assert_eq!(p[key], "#A1B2C3", "{key}");
        for bad in ["red", "#12345", "#1234567", "123456", "#GGGGGG"] {
            let r = create(&app, json!({"card_id": card_id, "title": key, key: bad}));
            assert_eq!(
                errors_of(&r, key),
                ["must be a hex colour like #RRGGBB"],
                "{key} = {bad}"
            );
        }
        let r = create(&app, json!({"card_id": card_id, "title": key, key: null}));
        assert_eq!(errors_of(&r, key), ["can't be blank"], "{key} = null");
    }
}

#[test]
fn flags_are_booleans() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    for key in [
        "active",
        "require_email",
        "require_phone",
        "require_birthday",
    ] {
        for (given, stored) in [
            (json!(true), true),
            (json!(false), false),
            (json!("1"), true),
            (json!("0"), false),
            (json!(1), true),
            (json!("false"), false),
        ] {
            let p = create_ok(&app, json!({"card_id": card_id, "title": key, key: given}));
            assert_eq!(p[key], stored, "{key} = {given}");
        }
        for bad in [json!("maybe"), json!(2), json!([true])] {
            let r = create(&app, json!({"card_id": card_id, "title": key, key: bad}));
            assert_eq!(errors_of(&r, key).len(), 1, "{key} = {bad}: {}", r.text);
        }
        let r = create(&app, json!({"card_id": card_id, "title": key, key: null}));
        assert_eq!(errors_of(&r, key), ["can't be blank"], "{key} = null");
    }
}

#[test]
fn update_changes_the_given_fields_and_card_id_is_immutable() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let other_card = card(&app, "Tea Card");
    let p = create_ok(&app, json!({"card_id": card_id, "title": "Before"}));
    let path = poster_path(&app, &p["id"]);

    let r = app.patch(
        &path,
        &json!({"poster": {"title": "After", "paper_size": "a6", "primary_color": "#010203"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["title"], "After");
    assert_eq!(r.body["paper_size"], "a6");
    assert_eq!(r.body["primary_color"], "#010203");
    assert_eq!(r.body["secondary_color"], p["secondary_color"]);
    assert_eq!(
        r.body["contact_collection_mode"],
        p["contact_collection_mode"]
    );
    assert_eq!(r.body["created_at"], p["created_at"]);
    // The public URLs stay the same: printed posters keep working.
    for key in ["signup_url", "qr_code_url", "display_url"] {
        assert_eq!(r.body[key], p[key], "{key}");
    }
    assert_eq!(app.get(&path).body, r.body);

    // PUT is an update too.
    let r = app.put(
        &path,
        &json!({"poster": {"contact_collection_mode": "phone_only", "require_birthday": "1"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["contact_collection_mode"], "phone_only");
    assert_eq!(r.body["require_birthday"], true);
    assert_eq!(r.body["title"], "After");

    // card_id: the same value is fine; another or none is refused.
    let r = app.patch(
        &path,
        &json!({"poster": {"card_id": card_id, "title": "Same"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for bad in [json!(other_card), json!(null), json!(999_999)] {
        let r = app.patch(
            &path,
            &json!({"poster": {"card_id": bad, "title": "Moved"}}),
        );
        assert_eq!(errors_of(&r, "card_id"), ["can't be changed"], "{bad}");
    }
    let now = app.get(&path).body;
    assert_eq!(now["card_id"], card_id);
    assert_eq!(now["title"], "Same", "a refused update changes nothing");

    // The create rules hold on update.
    for (attrs, field) in [
        (json!({"title": "x".repeat(101)}), "title"),
        (json!({"paper_size": "a3"}), "paper_size"),
        (
            json!({"contact_collection_mode": "post"}),
            "contact_collection_mode",
        ),
        (json!({"text_color": "white"}), "text_color"),
        (json!({"active": "sometimes"}), "active"),
        (json!({"require_birthday": null}), "require_birthday"),
        (json!({"birthday_required": null}), "birthday_required"),
        (json!({"minimum_age": 0}), "minimum_age"),
    ] {
        let r = app.patch(&path, &json!({ "poster": attrs }));
        assert_eq!(errors_of(&r, field).len(), 1, "{attrs}: {}", r.text);
    }
    assert_eq!(app.get(&path).body, now);
}

#[test]
fn birthday_required_is_read_as_require_birthday() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let p = create_ok(&app, json!({"card_id": card_id, "birthday_required": true}));
    assert_eq!(p["require_birthday"], true);
    assert!(
        p.get("birthday_required").is_none(),
        "answers use Leal's name: {p}"
    );
    let path = poster_path(&app, &p["id"]);
    let r = app.patch(&path, &json!({"poster": {"birthday_required": "0"}}));
    assert_eq!(r.body["require_birthday"], false, "{}", r.text);
    // Both given: Leal's name wins.
    let r = app.patch(
        &path,
        &json!({"poster": {"require_birthday": true, "birthday_required": false}}),
    );
    assert_eq!(r.body["require_birthday"], true, "{}", r.text);
}

#[test]
fn a_minimum_age_goes_with_a_required_birthday() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let with_birthday =
        |age: Value| json!({"card_id": card_id, "require_birthday": true, "minimum_age": age});
    for (given, stored) in [
        (json!(1), json!(1)),
        (json!(120), json!(120)),
        (json!("18"), json!(18)),
        // Leal's SDK sends its float: 18.0 is 18.
        (json!(18.0), json!(18)),
        (json!(null), json!(null)),
    ] {
        let p = create_ok(&app, with_birthday(given.clone()));
        assert_eq!(p["minimum_age"], stored, "{given}");
    }
    for (given, message) in [
        (json!(0), "must be greater than or equal to 1"),
        (json!(121), "must be less than or equal to 120"),
        (json!(18.5), "must be an integer"),
        (json!("adult"), "is not a number"),
    ] {
        let r = create(&app, with_birthday(given.clone()));
        assert_eq!(errors_of(&r, "minimum_age"), [message], "{given}");
    }
    // Without a required birthday there is no age to check.
    for attrs in [
        json!({"card_id": card_id, "minimum_age": 18}),
        json!({"card_id": card_id, "minimum_age": 18, "require_birthday": false}),
    ] {
        let r = create(&app, attrs.clone());
        assert_eq!(
            errors_of(&r, "minimum_age"),
            ["can only be set when require_birthday is true"],
            "{attrs}"
        );
    }
    let p = create_ok(&app, json!({"card_id": card_id, "minimum_age": null}));
    assert_eq!(p["minimum_age"], Value::Null);

    // On update: judged against the stored birthday rule; turning it off clears the age.
    let path = poster_path(&app, &p["id"]);
    let r = app.patch(&path, &json!({"poster": {"minimum_age": 16}}));
    assert_eq!(
        errors_of(&r, "minimum_age"),
        ["can only be set when require_birthday is true"]
    );
    let r = app.patch(
        &path,
        &json!({"poster": {"require_birthday": true, "minimum_age": 16}}),
    );
    assert_eq!(r.body["minimum_age"], 16, "{}", r.text);
    let r = app.patch(&path, &json!({"poster": {"minimum_age": 21}}));
    assert_eq!(r.body["minimum_age"], 21, "{}", r.text);
    let r = app.patch(
        &path,
        &json!({"poster": {"require_birthday": false, "minimum_age": 21}}),
    );
    assert_eq!(
        errors_of(&r, "minimum_age"),
        ["can only be set when require_birthday is true"]
    );
    assert_eq!(
        app.get(&path).body["minimum_age"],
        21,
        "a refused update changes nothing"
    );
    let r = app.patch(&path, &json!({"poster": {"require_birthday": false}}));
    assert_eq!(r.body["require_birthday"], false, "{}", r.text);
    assert_eq!(
        r.body["minimum_age"],
        Value::Null,
        "cleared with the birthday"
    );
    let r = app.patch(&path, &json!({"poster": {"require_birthday": true}}));
    assert_eq!(r.body["minimum_age"], Value::Null, "not brought back");
}

#[test]
fn the_list_filters_by_card_and_active() {
    let app = spawn_app();
    let coffee = card(&app, "Coffee Card");
    let tea = card(&app, "Tea Card");
    let id = |p: &Value| p["id"].as_i64().unwrap();
    let a = id(&create_ok(&app, json!({"card_id": coffee})));
    let b = id(&create_ok(
        &app,
        json!({"card_id": coffee, "active": false}),
    ));
    let c = id(&create_ok(&app, json!({"card_id": tea})));
    let listed = |query: &str| -> Vec<i64> {
        let r = app.get(&app.store_path(&format!("/posters{query}")));
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        r.body.as_array().unwrap().iter().map(id).collect()
    };
    assert_eq!(listed(""), [a, b, c]);
    assert_eq!(listed(&format!("?card_id={coffee}")), [a, b]);
    assert_eq!(listed(&format!("?card_id={tea}")), [c]);
    assert_eq!(listed("?card_id=999999"), Vec::<i64>::new());
    // `active` present with a true or empty value: the active ones.
    for q in [
        "?active=true",
        "?active=1",
        "?active=",
        "?active",
        "?active=TRUE",
    ] {
        assert_eq!(listed(q), [a, c], "{q}");
    }
    for q in ["?active=false", "?active=0"] {
        assert_eq!(listed(q), [b], "{q}");
    }
    assert_eq!(listed(&format!("?card_id={coffee}&active=true")), [a]);
    assert_eq!(
        listed(&format!("?card_id={tea}&active=false")),
        Vec::<i64>::new()
    );
    assert_eq!(
        listed("?card_id="),
        [a, b, c],
        "a blank card_id is no filter"
    );
    for (q, field) in [("?active=maybe", "active"), ("?card_id=three", "card_id")] {
        let r = app.get(&app.store_path(&format!("/posters{q}")));
        assert_eq!(errors_of(&r, field).len(), 1, "{q}: {}", r.text);
    }
}

#[test]
fn other_stores_posters_are_404() {
    let app = spawn_app();
    let (other_id, other_token) = app.new_store("Other Store");
    let their_card = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/cards"),
        Some(&other_token),
        Some("application/json"),
        Some(r#"{"card": {"name": "Their card"}}"#),
    );
    let theirs = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/posters"),
        Some(&other_token),
        Some("application/json"),
        Some(&json!({"poster": {"card_id": their_card.body["id"], "title": "Theirs"}}).to_string()),
    );
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    let mine = create_ok(
        &app,
        json!({"card_id": card(&app, "Mine"), "title": "Mine"}),
    );

    let path = poster_path(&app, &theirs.body["id"]);
    for method in ["GET", "PATCH", "PUT", "DELETE"] {
        let r = app.request(
            method,
            &path,
            Some(&app.token),
            Some("application/json"),
            matches!(method, "PATCH" | "PUT").then_some(r#"{"poster": {"title": "Mine now"}}"#),
        );
        assert_eq!(r.status, 404, "{method}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Poster not found"}));
    }
    for (method, p) in [
        ("GET", format!("/api/v1/accounts/{other_id}/posters")),
        ("POST", format!("/api/v1/accounts/{other_id}/posters")),
        (
            "GET",
            format!("/api/v1/accounts/{other_id}/posters/{}", theirs.body["id"]),
        ),
    ] {
        let r = app.request(
            method,
            &p,
            Some(&app.token),
            Some("application/json"),
            (method == "POST").then_some(r#"{"poster": {"title": "X"}}"#),
        );
        assert_eq!(r.status, 404, "{method} {p}: {}", r.text);
    }
    assert_eq!(all_posters(&app), vec![mine]);
    let still = app.request(
        "GET",
        &format!("/api/v1/accounts/{other_id}/posters/{}", theirs.body["id"]),
        Some(&other_token),
        None,
        None,
    );
    assert_eq!(still.body["title"], "Theirs");
    assert_eq!(posters_count(&app), 1);
}

#[test]
fn delete_answers_204_and_posters_count_follows() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    assert_eq!(posters_count(&app), 0);
    let a = create_ok(&app, json!({"card_id": card_id, "title": "A"}));
    let b = create_ok(&app, json!({"card_id": card_id, "title": "B"}));
    assert_eq!(posters_count(&app), 2);

    let path = poster_path(&app, &a["id"]);
    let r = delete(&app, &path);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(posters_count(&app), 1);
    for method in ["GET", "PATCH", "DELETE"] {
        let r = app.request(
            method,
            &path,
            Some(&app.token),
            Some("application/json"),
            (method == "PATCH").then_some(r#"{"title": "X"}"#),
        );
        assert_eq!(r.status, 404, "{method}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Poster not found"}));
    }
    assert_eq!(posters_count(&app), 1);
    assert_eq!(all_posters(&app), vec![b.clone()]);

    assert_eq!(delete(&app, &poster_path(&app, &b["id"])).status, 204);
    assert_eq!(posters_count(&app), 0);
    assert!(all_posters(&app).is_empty());
    // Deactivating is not deleting: it still counts.
    create_ok(
        &app,
        json!({"card_id": card_id, "title": "C", "active": false}),
    );
    assert_eq!(posters_count(&app), 1);
}

// ---------------------------------------------------------------------------------
// Public pages: gone when deleted or inactive
// ---------------------------------------------------------------------------------

#[test]
fn deleting_a_poster_makes_its_public_pages_404() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let p = create_ok(&app, json!({"card_id": card_id, "title": "Soon gone"}));
    for key in ["display_url", "signup_url", "qr_code_url"] {
        assert_eq!(public(&app, &p[key]).status, 200, "{key}");
    }
    assert_eq!(delete(&app, &poster_path(&app, &p["id"])).status, 204);
    for key in ["display_url", "signup_url", "qr_code_url"] {
        assert_html_404(&public(&app, &p[key]), key);
    }
    // A form posted to it is refused the same way, and enrols no one.
    let path = p["signup_url"]
        .as_str()
        .unwrap()
        .strip_prefix(&app.base)
        .unwrap();
    let r = app.request(
        "POST",
        path,
        None,
        Some("application/x-www-form-urlencoded"),
        Some("first_name=Ann&email=ann%40example.com&consent=1"),
    );
    assert_html_404(&r, "POST signup_url");
    let customers = app.get(&app.store_path("/customers")).body;
    assert_eq!(customers["pagination"]["count"], 0, "{customers}");
}

#[test]
fn a_deactivated_poster_is_404_until_it_is_active_again() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let p = create_ok(&app, json!({"card_id": card_id, "title": "On and off"}));
    let path = poster_path(&app, &p["id"]);

    let r = app.patch(&path, &json!({"poster": {"active": false}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    for key in ["display_url", "signup_url", "qr_code_url"] {
        assert_html_404(&public(&app, &p[key]), key);
    }
    // Still there for the shop.
    assert_eq!(app.get(&path).status, 200);

    let r = app.patch(&path, &json!({"poster": {"active": true}}));
    assert_eq!(r.status, 200, "{}", r.text);
    for key in ["display_url", "signup_url", "qr_code_url"] {
        let r = public(&app, &p[key]);
        assert_eq!(r.status, 200, "{key}: {}", r.text);
        assert!(r.text.contains("On and off"), "{key}");
    }

    // A poster created inactive was never public.
    let q = create_ok(
        &app,
        json!({"card_id": card_id, "title": "Draft", "active": false}),
    );
    assert_html_404(&public(&app, &q["display_url"]), "draft poster");
    assert_html_404(&public(&app, &q["signup_url"]), "draft signup");
}

#[test]
fn unknown_tokens_are_404_pages() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let p = create_ok(&app, json!({"card_id": card_id, "title": "Real"}));
    let id = p["id"].as_i64().unwrap();
    // The poster's id is not a key to its pages, nor is a made-up token.
    for path in [
        format!("/posters/{id}"),
        format!("/s/{id}"),
        "/posters/00000000000000000000000000000000".to_string(),
        "/s/ffffffffffffffffffffffffffffffff".to_string(),
    ] {
        let r = app.request("GET", &path, None, None, None);
        assert_html_404(&r, &path);
    }
}

// ---------------------------------------------------------------------------------
// The printable poster
// ---------------------------------------------------------------------------------

#[test]
fn the_printable_page_is_laid_out_for_its_paper_size() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    // The `@page` size may name the paper or give its dimensions (what Chromium prints
    // is checked in tests/posters_browser.rs).
    for (size, names, width, height) in [
        ("a4", ["A4", "210mm 297mm"], "210mm", "297mm"),
        ("a5", ["A5", "148mm 210mm"], "148mm", "210mm"),
        ("a6", ["A6", "105mm 148mm"], "105mm", "148mm"),
        ("letter", ["letter", "8.5in 11in"], "8.5in", "11in"),
    ] {
        let p = create_ok(
            &app,
            json!({"card_id": card_id, "title": format!("Poster {size}"), "paper_size": size}),
        );
        let r = public(&app, &p["display_url"]);
        assert_eq!(r.status, 200, "{size}: {}", r.text);
        assert_eq!(count(&r.text, "@page"), 1, "{size}: one @page rule");
        let declared = page_size(&r.text);
        assert!(
            names.contains(&declared.as_str()),
            "{size}: print CSS for the paper, not {declared:?}"
        );
        assert!(
            r.text.contains(&format!("width: {width}"))
                && r.text.contains(&format!("height: {height}")),
            "{size}: the sheet is {width} × {height}"
        );
        assert!(r.text.contains(&format!("data-paper=\"{size}\"")), "{size}");

        // Changing the size changes the layout.
        let other = if size == "a4" { "a6" } else { "a4" };
        let r = app.patch(
            &poster_path(&app, &p["id"]),
            &json!({"poster": {"paper_size": other}}),
        );
        assert_eq!(r.status, 200);
        let r = public(&app, &p["display_url"]);
        assert!(
            !names.contains(&page_size(&r.text).as_str()),
            "{size} → {other}"
        );
    }
}

/// The `size` of the page's `@page` rule.
fn page_size(html: &str) -> String {
    let i = html.find("@page").expect("an @page rule");
    let rule = &html[i..i + html[i..].find('}').expect("end of @page")];
    let j = rule.find("size:").expect("a size in @page") + "size:".len();
    rule[j..]
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn the_printable_page_shows_title_card_reward_and_colours() {
    let app = spawn_app();
    let card_id = card(&app, "Bean & Leaf <Card>");
    let r = app.post(
        &app.store_path("/rewards"),
        &json!({"reward": {"card_id": card_id, "name": "Free \"flat white\"", "stamps_required": 8}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let p = create_ok(
        &app,
        json!({
            "card_id": card_id,
            "title": "Scan <me> & join",
            "primary_color": "#123456",
            "secondary_color": "#FEDCBA",
            "text_color": "#F0F0F0",
        }),
    );
    let r = public(&app, &p["display_url"]);
    assert_eq!(r.status, 200, "{}", r.text);
    let html = &r.text;
    assert!(
        html.contains("Scan &lt;me&gt; &amp; join"),
        "title, escaped"
    );
    assert!(!html.contains("<me>"), "no raw markup from the title");
    assert!(html.contains("Bean &amp; Leaf &lt;Card&gt;"), "card name");
    assert!(html.contains("Test Store"), "store name");
    assert!(
        html.contains("Collect 8 stamps for Free &quot;flat white&quot;"),
        "the reward offer: {html}"
    );
    assert!(html.contains("<title>Scan &lt;me&gt; &amp; join</title>"));
    for colour in ["#123456", "#FEDCBA", "#F0F0F0"] {
        assert!(html.contains(colour), "colour {colour}");
    }
    assert!(html.contains("background: #123456"), "primary background");
    assert!(html.contains("color: #F0F0F0"), "text colour");
    // The signup address is printed for those who cannot scan.
    assert!(html.contains(p["signup_url"].as_str().unwrap()));
    // A public HTML page with the usual protections, and no script.
    let ct = r.header("Content-Type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{ct}");
    let csp = r.header("Content-Security-Policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "CSP: {csp}");
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    assert!(!html.contains("<script"), "no script on the poster");

    // Without a reward the offer is the card's stamps.
    let plain = card(&app, "Plain card");
    let q = create_ok(&app, json!({"card_id": plain, "title": "Plain"}));
    let html = public(&app, &q["display_url"]).text;
    assert!(
        html.contains("Collect 8 stamps<"),
        "offer without a reward: {html}"
    );
    assert!(!html.contains("stamps for"), "{html}");
}

#[test]
fn the_qr_code_decodes_to_the_qr_code_url() {
    let app = spawn_app();
    let card_id = card(&app, "Coffee Card");
    let a = create_ok(
        &app,
        json!({"card_id": card_id, "title": "A", "paper_size": "a5"}),
    );
    let b = create_ok(
        &app,
        json!({"card_id": card_id, "title": "B", "paper_size": "a6"}),
    );
    for p in [&a, &b] {
        let html = public(&app, &p["display_url"]).text;
        assert_eq!(count(&html, "<svg"), 1, "one inline SVG");
        assert!(
            !html.contains("<img"),
            "the code is inline, not an image link"
        );
        let decoded = decode_qr(qr_svg(&html));
        assert_eq!(decoded, p["qr_code_url"].as_str().unwrap());
        // The code leads to the signup form.
        let form = public(&app, &json!(decoded));
        assert_eq!(form.status, 200, "{}", form.text);
        assert!(form.text.contains("<form"), "{}", form.text);
    }
}

// ---------------------------------------------------------------------------------
// The poster's QR code (decoded by crate::qr)
// ---------------------------------------------------------------------------------

/// The inner HTML of the first `<tag ...marker...>` element (no nesting of the same tag).
fn element<'a>(html: &'a str, tag: &str, marker: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = html[from..].find(&open) {
        let start = from + i;
        let tag_end = start + html[start..].find('>')?;
        if html[start..tag_end].contains(marker) {
            let close = format!("</{tag}>");
            let end = tag_end + html[tag_end..].find(&close)?;
            return Some(&html[tag_end + 1..end]);
        }
        from = tag_end;
    }
    None
}

/// The inline SVG inside `<div class="qr" ...>`.
fn qr_svg(html: &str) -> &str {
    let div = element(html, "div", "class=\"qr\"").expect("a <div class=\"qr\">");
    let i = div.find("<svg").expect("an inline <svg> in the qr div");
    &div[i..]
}
