//! Customers: create (JSON and form), the customer JSON, validations, normalisation,
//! uniqueness, enrolment with `card_id`, queued card links, update, show, persistence.

use serde_json::{json, Value};

use crate::support::app::*;

const CUSTOMER_KEYS: [&str; 13] = [
    "account_id",
    "birthday",
    "created_at",
    "customer_cards",
    "email",
    "external_references",
    "first_name",
    "id",
    "last_name",
    "metadata",
    "phone",
    "stamp_count",
    "updated_at",
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

fn validation(errors: Value) -> Value {
    json!({"error": "Validation failed", "errors": errors})
}

fn customers_path(app: &TestApp) -> String {
    app.store_path("/customers")
}

fn customer_path(app: &TestApp, id: &Value) -> String {
    app.store_path(&format!("/customers/{id}"))
}

fn post_as(app: &TestApp, token: &str, path: &str, body: &Value) -> Resp {
    app.request(
        "POST",
        path,
        Some(token),
        Some("application/json"),
        Some(&body.to_string()),
    )
}

fn count_rows(app: &TestApp, sql: &str) -> i64 {
    app.conn()
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn tomorrow() -> String {
    let d = time::OffsetDateTime::now_utc()
        .date()
        .next_day()
        .expect("tomorrow");
    stampd::time_fmt::format_date(d)
}

fn today() -> String {
    stampd::time_fmt::format_date(time::OffsetDateTime::now_utc().date())
}

#[test]
fn create_with_every_field_returns_the_full_customer() {
    let app = spawn_app();
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann.lee@example.com",
            "phone": "+14155550132",
            "birthday": "1990-02-28",
            "metadata": {"tier": "gold", "visits": 3, "prefs": {"milk": "oat"}},
            "external_references": [
                {"source": "pos", "external_id": "42", "metadata": {"till": 2}},
                {"source": "crm", "external_id": "C-1"}
            ]
        }}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.body;
    assert_eq!(keys(c), CUSTOMER_KEYS, "{}", r.text);
    assert!(c["id"].as_i64().unwrap() > 0);
    assert_eq!(c["account_id"], app.store_id);
    assert_eq!(c["first_name"], "Ann");
    assert_eq!(c["last_name"], "Lee");
    assert_eq!(c["email"], "ann.lee@example.com");
    assert_eq!(c["phone"], "+14155550132");
    assert_eq!(c["birthday"], "1990-02-28");
    assert_eq!(c["stamp_count"], 0);
    assert_eq!(
        c["metadata"],
        json!({"tier": "gold", "visits": 3, "prefs": {"milk": "oat"}})
    );
    assert_eq!(
        c["external_references"],
        json!([
            {"source": "pos", "external_id": "42", "metadata": {"till": 2}},
            {"source": "crm", "external_id": "C-1", "metadata": {}}
        ])
    );
    assert_eq!(c["customer_cards"], json!([]));
    assert_timestamp(&c["created_at"]);
    assert_timestamp(&c["updated_at"]);
    assert_eq!(c["created_at"], c["updated_at"]);

    // Show answers the same JSON.
    let s = app.get(&customer_path(&app, &c["id"]));
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(&s.body, c);

    // And the row on disk is the normalised data.
    let (email, phone, birthday): (String, String, String) = app
        .conn()
        .query_row(
            "SELECT email, phone, birthday FROM customers WHERE id = ?1",
            [c["id"].as_i64().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (email.as_str(), phone.as_str(), birthday.as_str()),
        ("ann.lee@example.com", "+14155550132", "1990-02-28")
    );
}

#[test]
fn unset_optional_fields_are_present_as_null() {
    let app = spawn_app();
    let c = app.create_customer(json!({"customer": {"first_name": "Bo", "phone": "4155550132"}}));
    assert_eq!(keys(&c), CUSTOMER_KEYS);
    assert_eq!(c["first_name"], "Bo");
    assert_eq!(c["phone"], "+14155550132");
    for k in ["last_name", "email", "birthday"] {
        assert!(c.as_object().unwrap().contains_key(k), "{k} missing");
        assert_eq!(c[k], Value::Null, "{k}");
    }
    assert_eq!(c["metadata"], json!({}));
    assert_eq!(c["external_references"], json!([]));
    assert_eq!(c["customer_cards"], json!([]));
    assert_eq!(c["stamp_count"], 0);
    assert!(
        c.get("customer_card").is_none(),
        "no card_id, no customer_card"
    );
}

#[test]
fn create_without_root_key_takes_body_as_attributes() {
    let app = spawn_app();
    let c = app.create_customer(json!({"first_name": "Ann", "email": "ann@example.com"}));
    assert_eq!(c["first_name"], "Ann");
    assert_eq!(c["email"], "ann@example.com");
}

#[test]
fn create_from_rails_form_body() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee", "initial_stamps": 2}));
    let form = format!(
        "customer[first_name]=Ann&customer[last_name]=Lee&customer[email]=Ann%40Example.com\
         &customer[phone]=%28415%29+555-0132&customer[birthday]=1990-02-28\
         &customer[metadata][tier]=gold\
         &customer[external_references][][source]=pos&customer[external_references][][external_id]=42\
         &card_id={}&send_card_links=1",
        card["id"]
    );
    let r = app.post_form(&customers_path(&app), &form);
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.body;
    assert_eq!(c["first_name"], "Ann");
    assert_eq!(c["last_name"], "Lee");
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["phone"], "+14155550132");
    assert_eq!(c["birthday"], "1990-02-28");
    assert_eq!(c["metadata"], json!({"tier": "gold"}));
    assert_eq!(
        c["external_references"],
        json!([{"source": "pos", "external_id": "42", "metadata": {}}])
    );
    assert_eq!(c["stamp_count"], 2);
    assert_eq!(c["customer_card"]["card_id"], card["id"]);
    assert_eq!(c["customer_card"]["stamps_count"], 2);
    assert_eq!(c["customer_cards"].as_array().unwrap().len(), 1);
    assert_eq!(c["customer_cards"][0], c["customer_card"]);

    let rows: Vec<(String, String, String)> = {
        let conn = app.conn();
        let mut st = conn
            .prepare("SELECT channel, address, status FROM outbox ORDER BY channel")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows
    };
    assert_eq!(
        rows,
        vec![
            ("email".into(), "ann@example.com".into(), "pending".into()),
            ("sms".into(), "+14155550132".into(), "pending".into()),
        ]
    );
}

#[test]
fn first_name_is_required() {
    let app = spawn_app();
    for attrs in [
        json!({"email": "ann@example.com"}),
        json!({"first_name": "", "email": "ann@example.com"}),
        json!({"first_name": "   ", "email": "ann@example.com"}),
        json!({"first_name": null, "email": "ann@example.com"}),
    ] {
        let r = app.post(&customers_path(&app), &json!({ "customer": attrs }));
        assert_eq!(r.status, 422, "{attrs}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"first_name": ["can't be blank"]})),
            "{attrs}"
        );
    }
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
}

#[test]
fn email_or_phone_is_required() {
    let app = spawn_app();
    for attrs in [
        json!({"first_name": "Ann"}),
        json!({"first_name": "Ann", "email": "", "phone": null}),
    ] {
        let r = app.post(&customers_path(&app), &json!({ "customer": attrs }));
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(
            r.body,
            validation(json!({
                "email": ["can't be blank when phone is blank"],
                "phone": ["can't be blank when email is blank"],
            })),
            "{attrs}"
        );
    }
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
}

#[test]
fn invalid_email_and_phone_are_422() {
    let app = spawn_app();
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@", "phone": "123"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"email": ["is invalid"], "phone": ["is invalid"]}))
    );
    for email in [
        "ann",
        "@example.com",
        "ann@example",
        "ann lee@example.com",
        "a@b..com",
    ] {
        let r = app.post(
            &customers_path(&app),
            &json!({"customer": {"first_name": "Ann", "email": email}}),
        );
        assert_eq!(r.status, 422, "{email}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"email": ["is invalid"]})),
            "{email}"
        );
    }
    for phone in ["abc", "+1 415 555", "4155550132x", "555-0132-9999-9999-99"] {
        let r = app.post(
            &customers_path(&app),
            &json!({"customer": {"first_name": "Ann", "phone": phone}}),
        );
        assert_eq!(r.status, 422, "{phone}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"phone": ["is invalid"]})),
            "{phone}"
        );
    }
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
}

#[test]
fn birthday_must_be_a_real_past_date() {
    let app = spawn_app();
    let cases = [
        ("1990/02/28", "is invalid"),
        ("28-02-1990", "is invalid"),
        ("yesterday", "is invalid"),
        ("1990-02-30", "is invalid"),
        ("1990-13-01", "is invalid"),
        ("1850-01-01", "is invalid"),
    ];
    for (b, msg) in cases {
        let r = app.post(
            &customers_path(&app),
            &json!({"customer": {"first_name": "Ann", "email": "ann@example.com", "birthday": b}}),
        );
        assert_eq!(r.status, 422, "{b}: {}", r.text);
        assert_eq!(r.body, validation(json!({ "birthday": [msg] })), "{b}");
    }
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com", "birthday": tomorrow()}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"birthday": ["can't be in the future"]}))
    );
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);

    // A leap day and today are fine.
    let c = app.create_customer(
        json!({"customer": {"first_name": "Ann", "email": "ann@example.com", "birthday": "2000-02-29"}}),
    );
    assert_eq!(c["birthday"], "2000-02-29");
    let c = app.create_customer(
        json!({"customer": {"first_name": "Bo", "email": "bo@example.com", "birthday": today()}}),
    );
    assert_eq!(c["birthday"], today());
}

#[test]
fn metadata_must_be_an_object() {
    let app = spawn_app();
    for m in [json!("gold"), json!([1, 2]), json!(5), json!(true)] {
        let r = app.post(
            &customers_path(&app),
            &json!({"customer": {"first_name": "Ann", "email": "ann@example.com", "metadata": m}}),
        );
        assert_eq!(r.status, 422, "{m}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"metadata": ["must be a JSON object"]})),
            "{m}"
        );
    }
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
}

#[test]
fn external_reference_needs_source_and_external_id() {
    let app = spawn_app();
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com",
            "external_references": [{"external_id": "42"}]}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"external_references.source": ["can't be blank"]}))
    );
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com",
            "external_references": [{"source": "pos", "external_id": ""}]}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"external_references.external_id": ["can't be blank"]}))
    );
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
    assert_eq!(
        count_rows(&app, "SELECT count(*) FROM external_references"),
        0
    );
}

#[test]
fn field_limits_are_enforced() {
    let app = spawn_app();
    let long_email = format!("{}@example.com", "a".repeat(243));
    assert_eq!(long_email.len(), 255);
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {
            "first_name": "a".repeat(101),
            "last_name": "b".repeat(101),
            "email": long_email,
            "phone": format!("+1 415 555 0132{}", " ".repeat(10) + &"-".repeat(16)),
        }}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({
            "first_name": ["is too long (maximum is 100 characters)"],
            "last_name": ["is too long (maximum is 100 characters)"],
            "email": ["is too long (maximum is 254 characters)"],
            "phone": ["is too long (maximum is 40 characters)"],
        }))
    );

    let big = "x".repeat(16 * 1024);
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com",
            "metadata": {"notes": big}}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"metadata": ["is too large (maximum is 16384 bytes of JSON)"]}))
    );

    let refs: Vec<Value> = (0..51)
        .map(|i| json!({"source": "pos", "external_id": i.to_string()}))
        .collect();
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com",
            "external_references": refs}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"external_references": ["is too long (maximum is 50 entries)"]}))
    );
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);

    // At the limits: fine.
    let ok_email = format!("{}@example.com", "a".repeat(242));
    let refs: Vec<Value> = (0..50)
        .map(|i| json!({"source": "pos", "external_id": i.to_string()}))
        .collect();
    let c = app.create_customer(json!({"customer": {
        "first_name": "a".repeat(100), "last_name": "b".repeat(100),
        "email": ok_email, "external_references": refs
    }}));
    assert_eq!(c["first_name"].as_str().unwrap().len(), 100);
    assert_eq!(c["email"].as_str().unwrap().len(), 254);
    assert_eq!(c["external_references"].as_array().unwrap().len(), 50);
}

#[test]
fn email_and_phone_are_normalised() {
    let app = spawn_app();
    let c = app.create_customer(json!({"customer": {
        "first_name": "  Ann ",
        "email": "  Ann.Lee@Example.COM ",
        "phone": "(415) 555-0132"
    }}));
    assert_eq!(c["email"], "ann.lee@example.com");
    assert_eq!(c["phone"], "+14155550132");
    let (email, phone): (String, String) = app
        .conn()
        .query_row(
            "SELECT email, phone FROM customers WHERE id = ?1",
            [c["id"].as_i64().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(email, "ann.lee@example.com");
    assert_eq!(phone, "+14155550132");

    for (typed, e164) in [
        ("+1 415 555 0133", "+14155550133"),
        ("415.555.0134", "+14155550134"),
        ("1-415-555-0135", "+14155550135"),
        ("+44 20 7946 0018", "+442079460018"),
    ] {
        let c = app.create_customer(json!({"customer": {"first_name": "X", "phone": typed}}));
        assert_eq!(c["phone"], e164, "{typed}");
    }
}

#[test]
fn email_and_phone_are_unique_within_the_store_on_create() {
    let app = spawn_app();
    app.create_customer(json!({"customer": {
        "first_name": "Ann", "email": "ann@example.com", "phone": "(415) 555-0132"
    }}));

    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Imposter", "email": "  ANN@Example.com "}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"email": ["has already been taken"]}))
    );

    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Imposter", "phone": "+1 415 555 0132"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"phone": ["has already been taken"]}))
    );

    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Imposter", "email": "Ann@example.com", "phone": "415.555.0132"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({
            "email": ["has already been taken"],
            "phone": ["has already been taken"],
        }))
    );
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 1);

    // The same email and phone in another store are fine.
    let (other, other_token) = app.new_store("Other Store");
    let r = post_as(
        &app,
        &other_token,
        &format!("/api/v1/accounts/{other}/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "ANN@example.com", "phone": "(415) 555-0132"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["account_id"], other);
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["phone"], "+14155550132");
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 2);
}

#[test]
fn email_and_phone_are_unique_within_the_store_on_update() {
    let app = spawn_app();
    let ann = app.create_customer(json!({"customer": {
        "first_name": "Ann", "email": "ann@example.com", "phone": "(415) 555-0132"
    }}));
    let bo = app.create_customer(json!({"customer": {
        "first_name": "Bo", "email": "bo@example.com", "phone": "(415) 555-0199"
    }}));

    let r = app.patch(
        &customer_path(&app, &bo["id"]),
        &json!({"customer": {"email": "ANN@EXAMPLE.COM"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"email": ["has already been taken"]}))
    );

    let r = app.put(
        &customer_path(&app, &bo["id"]),
        &json!({"customer": {"phone": "+1 (415) 555-0132"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"phone": ["has already been taken"]}))
    );

    // Nothing changed.
    let s = app.get(&customer_path(&app, &bo["id"]));
    assert_eq!(s.body["email"], "bo@example.com");
    assert_eq!(s.body["phone"], "+14155550199");

    // A customer keeping (or re-typing) their own email and phone is no conflict.
    let r = app.patch(
        &customer_path(&app, &ann["id"]),
        &json!({"customer": {"email": "Ann@Example.com", "phone": "415-555-0132", "last_name": "Lee"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["phone"], "+14155550132");
    assert_eq!(r.body["last_name"], "Lee");

    // Taking over an address that has been freed works.
    let r = app.patch(
        &customer_path(&app, &ann["id"]),
        &json!({"customer": {"email": null}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.patch(
        &customer_path(&app, &bo["id"]),
        &json!({"customer": {"email": "ann@example.com"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ann@example.com");
}

#[test]
fn card_id_enrols_and_credits_the_welcome_bonus() {
    let app = spawn_app();
    let card =
        app.create_card(json!({"name": "Coffee", "stamps_required": 10, "initial_stamps": 3}));
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": card["id"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.body;
    let mut expected_keys: Vec<String> = CUSTOMER_KEYS.iter().map(|s| s.to_string()).collect();
    expected_keys.push("customer_card".into());
    expected_keys.sort();
    assert_eq!(keys(c), expected_keys);
    assert_eq!(c["stamp_count"], 3);
    let cc = &c["customer_card"];
    assert_eq!(cc["customer_id"], c["id"]);
    assert_eq!(cc["account_id"], app.store_id);
    assert_eq!(cc["card_id"], card["id"]);
    assert_eq!(cc["card_name"], "Coffee");
    assert_eq!(cc["status"], "active");
    assert_eq!(cc["stamps_count"], 3);
    assert_eq!(cc["stamps_remaining"], 7);
    assert_eq!(cc["progress_percentage"].as_f64(), Some(30.0));
    assert_eq!(c["customer_cards"], json!([cc.clone()]));

    // One ledger row: the welcome bonus.
    let conn = app.conn();
    let mut st = conn
        .prepare(
            "SELECT kind, stamps, balance_after, customer_card_id FROM stamp_events ORDER BY id",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![(
            "welcome_bonus".to_string(),
            3,
            3,
            cc["id"].as_i64().unwrap()
        )]
    );
    let stored: i64 = conn
        .query_row(
            "SELECT stamps_count FROM customer_cards WHERE id = ?1",
            [cc["id"].as_i64().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 3);
    // No links were asked for: nothing queued.
    assert_eq!(count_rows(&app, "SELECT count(*) FROM outbox"), 0);

    // The show of the customer agrees.
    let s = app.get(&customer_path(&app, &c["id"]));
    assert_eq!(s.status, 200);
    assert_eq!(s.body["stamp_count"], 3);
    assert_eq!(s.body["customer_cards"], json!([cc.clone()]));
    assert!(s.body.get("customer_card").is_none());
}

#[test]
fn card_without_initial_stamps_starts_at_zero() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Haircut", "stamps_required": 5}));
    let c = app.create_customer(
        json!({"customer": {"first_name": "Ann", "phone": "4155550132"}, "card_id": card["id"].to_string()}),
    );
    assert_eq!(c["stamp_count"], 0);
    assert_eq!(c["customer_card"]["stamps_count"], 0);
    assert_eq!(c["customer_card"]["stamps_remaining"], 5);
    assert_eq!(
        count_rows(&app, "SELECT coalesce(sum(stamps), 0) FROM stamp_events"),
        0
    );
}

#[test]
fn card_id_of_an_archived_card_is_422() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Old", "initial_stamps": 1}));
    let r = app.patch(
        &app.store_path(&format!("/cards/{}", card["id"])),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"},
            "card_id": card["id"], "send_card_links": true}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, validation(json!({"card_id": ["is archived"]})));
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customer_cards"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM stamp_events"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM outbox"), 0);
}

#[test]
fn card_id_of_another_store_or_none_is_not_found() {
    let app = spawn_app();
    let (other, other_token) = app.new_store("Other Store");
    let r = post_as(
        &app,
        &other_token,
        &format!("/api/v1/accounts/{other}/cards"),
        &json!({"card": {"name": "Theirs"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.body["id"].as_i64().unwrap();

    for card_id in [json!(theirs), json!(999_999), json!("999999")] {
        let r = app.post(
            &customers_path(&app),
            &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": card_id}),
        );
        assert_eq!(r.status, 422, "{card_id}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"card_id": ["not found"]})),
            "{card_id}"
        );
    }
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customer_cards"), 0);
}

#[test]
fn card_id_of_an_expired_card_is_422() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Summer", "initial_stamps": 1}));
    app.conn()
        .execute(
            "UPDATE cards SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
            [card["id"].as_i64().unwrap()],
        )
        .unwrap();
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"},
            "card_id": card["id"], "send_card_links": true}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, validation(json!({"card_id": ["has expired"]})));
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customer_cards"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM outbox"), 0);
}

#[test]
fn bad_card_id_or_send_card_links_is_422() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": "abc"}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body, validation(json!({"card_id": ["is not a number"]})));
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"},
            "card_id": card["id"], "send_card_links": "yes"}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"send_card_links": ["must be one of: true, false, 1, 0"]}))
    );
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 0);
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customer_cards"), 0);
}

fn deliveries(app: &TestApp) -> Vec<(i64, i64, String, String, String)> {
    let conn = app.conn();
    let mut st = conn
        .prepare(
            "SELECT customer_id, customer_card_id, channel, address, status FROM outbox ORDER BY id",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

#[test]
fn send_card_links_queues_one_delivery_per_channel() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee"}));

    // Email and phone: one email and one SMS.
    let ann = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "Ann@Example.com", "phone": "(415) 555-0132"},
        "card_id": card["id"], "send_card_links": true
    }));
    let ann_id = ann["id"].as_i64().unwrap();
    let ann_cc = ann["customer_card"]["id"].as_i64().unwrap();
    let mut sorted = deliveries(&app);
    sorted.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(
        sorted,
        vec![
            (
                ann_id,
                ann_cc,
                "email".into(),
                "ann@example.com".into(),
                "pending".into()
            ),
            (
                ann_id,
                ann_cc,
                "sms".into(),
                "+14155550132".into(),
                "pending".into()
            ),
        ]
    );
    // The response still carries the wallet URLs.
    assert!(ann["customer_card"]["apple_wallet_url"]
        .as_str()
        .unwrap()
        .ends_with(".pkpass"));

    // Phone only, flag as the number 1: one SMS.
    let bo = app.create_customer(json!({
        "customer": {"first_name": "Bo", "phone": "415 555 0199"},
        "card_id": card["id"], "send_card_links": 1
    }));
    // Email only, flag as the string "true": one email.
    let cy = app.create_customer(json!({
        "customer": {"first_name": "Cy", "email": "cy@example.com"},
        "card_id": card["id"], "send_card_links": "true"
    }));
    let all = deliveries(&app);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        all[2],
        (
            bo["id"].as_i64().unwrap(),
            bo["customer_card"]["id"].as_i64().unwrap(),
            "sms".into(),
            "+14155550199".into(),
            "pending".into()
        )
    );
    assert_eq!(
        all[3],
        (
            cy["id"].as_i64().unwrap(),
            cy["customer_card"]["id"].as_i64().unwrap(),
            "email".into(),
            "cy@example.com".into(),
            "pending".into()
        )
    );

    // Flag false (in any spelling), or no card: nothing queued.
    app.create_customer(json!({
        "customer": {"first_name": "Di", "email": "di@example.com"},
        "card_id": card["id"], "send_card_links": false
    }));
    app.create_customer(json!({
        "customer": {"first_name": "Ed", "email": "ed@example.com"},
        "card_id": card["id"], "send_card_links": "0"
    }));
    app.create_customer(json!({
        "customer": {"first_name": "Fi", "email": "fi@example.com"},
        "send_card_links": true
    }));
    assert_eq!(deliveries(&app).len(), 4);
}

fn full_customer(app: &TestApp) -> Value {
    app.create_customer(json!({"customer": {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "(415) 555-0132",
        "birthday": "1990-02-28",
        "metadata": {"tier": "gold", "visits": 3, "prefs": {"milk": "oat"}},
        "external_references": [{"source": "pos", "external_id": "42", "metadata": {"till": 2}}]
    }}))
}

#[test]
fn patch_and_put_change_only_the_given_keys() {
    let app = spawn_app();
    let c = full_customer(&app);
    std::thread::sleep(std::time::Duration::from_millis(5));

    let r = app.patch(
        &customer_path(&app, &c["id"]),
        &json!({"customer": {"last_name": "Smith"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut expected = c.clone();
    expected["last_name"] = json!("Smith");
    expected["updated_at"] = r.body["updated_at"].clone();
    assert_eq!(r.body, expected);
    assert_timestamp(&r.body["updated_at"]);
    assert!(
        r.body["updated_at"].as_str().unwrap() > c["updated_at"].as_str().unwrap(),
        "updated_at moves on"
    );
    assert_eq!(r.body["created_at"], c["created_at"]);

    let r = app.put(
        &customer_path(&app, &c["id"]),
        &json!({"customer": {"first_name": "Anne", "birthday": "1991-03-01"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    expected["first_name"] = json!("Anne");
    expected["birthday"] = json!("1991-03-01");
    expected["updated_at"] = r.body["updated_at"].clone();
    assert_eq!(r.body, expected);

    // Persisted.
    let s = app.get(&customer_path(&app, &c["id"]));
    assert_eq!(s.status, 200);
    assert_eq!(s.body, expected);

    // An empty customer object changes nothing.
    let r = app.patch(&customer_path(&app, &c["id"]), &json!({"customer": {}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, expected);
}

#[test]
fn update_validates_like_create() {
    let app = spawn_app();
    let c = full_customer(&app);
    let path = customer_path(&app, &c["id"]);
    for (attrs, errors) in [
        (
            json!({"email": "not-an-email"}),
            json!({"email": ["is invalid"]}),
        ),
        (json!({"phone": "12"}), json!({"phone": ["is invalid"]})),
        (
            json!({"birthday": "1990-02-30"}),
            json!({"birthday": ["is invalid"]}),
        ),
        (
            json!({"birthday": tomorrow()}),
            json!({"birthday": ["can't be in the future"]}),
        ),
        (
            json!({"metadata": "x"}),
            json!({"metadata": ["must be a JSON object"]}),
        ),
        (
            json!({"external_references": [{"external_id": "9"}]}),
            json!({"external_references.source": ["can't be blank"]}),
        ),
    ] {
        let r = app.patch(&path, &json!({ "customer": attrs }));
        assert_eq!(r.status, 422, "{attrs}: {}", r.text);
        assert_eq!(r.body, validation(errors), "{attrs}");
    }
    let s = app.get(&path);
    assert_eq!(s.body, c, "nothing changed");
}

#[test]
fn null_clears_optional_fields() {
    let app = spawn_app();
    let c = full_customer(&app);
    let r = app.patch(
        &customer_path(&app, &c["id"]),
        &json!({"customer": {"last_name": null, "birthday": null}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["last_name"], Value::Null);
    assert_eq!(r.body["birthday"], Value::Null);
    assert_eq!(r.body["first_name"], "Ann");
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["phone"], "+14155550132");
    let s = app.get(&customer_path(&app, &c["id"]));
    assert_eq!(s.body["last_name"], Value::Null);
    assert_eq!(s.body["birthday"], Value::Null);
    let (last, birthday): (Option<String>, Option<String>) = app
        .conn()
        .query_row(
            "SELECT last_name, birthday FROM customers WHERE id = ?1",
            [c["id"].as_i64().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((last, birthday), (None, None));
}

#[test]
fn email_or_phone_may_be_cleared_but_not_both() {
    let app = spawn_app();
    let c = full_customer(&app);
    let path = customer_path(&app, &c["id"]);

    let r = app.patch(&path, &json!({"customer": {"email": null}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], Value::Null);
    assert_eq!(r.body["phone"], "+14155550132");

    // Clearing the remaining phone too is refused.
    let r = app.patch(&path, &json!({"customer": {"phone": null}}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({
            "email": ["can't be blank when phone is blank"],
            "phone": ["can't be blank when email is blank"],
        }))
    );
    let s = app.get(&path);
    assert_eq!(s.body["phone"], "+14155550132");

    // Vice versa: set an email and clear the phone in one request.
    let r = app.put(
        &path,
        &json!({"customer": {"email": "ann@example.com", "phone": null}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["phone"], Value::Null);

    // Both at once: refused.
    let r = app.patch(&path, &json!({"customer": {"email": null, "phone": ""}}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"],
        json!({
            "email": ["can't be blank when phone is blank"],
            "phone": ["can't be blank when email is blank"],
        })
    );
    let s = app.get(&path);
    assert_eq!(s.body["email"], "ann@example.com");
}

#[test]
fn first_name_cannot_be_cleared() {
    let app = spawn_app();
    let c = full_customer(&app);
    let path = customer_path(&app, &c["id"]);
    for v in [Value::Null, json!(""), json!("  ")] {
        let r = app.patch(&path, &json!({"customer": {"first_name": v}}));
        assert_eq!(r.status, 422, "{v}: {}", r.text);
        assert_eq!(
            r.body,
            validation(json!({"first_name": ["can't be blank"]})),
            "{v}"
        );
    }
    assert_eq!(app.get(&path).body["first_name"], "Ann");
}

#[test]
fn metadata_is_merged_shallowly() {
    let app = spawn_app();
    let c = full_customer(&app);
    let path = customer_path(&app, &c["id"]);

    let r = app.patch(
        &path,
        &json!({"customer": {"metadata": {"visits": 4, "nickname": "Annie", "tier": null}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["metadata"],
        json!({"visits": 4, "prefs": {"milk": "oat"}, "nickname": "Annie"})
    );

    // Shallow: a nested object is replaced, not merged.
    let r = app.patch(
        &path,
        &json!({"customer": {"metadata": {"prefs": {"sugar": true}}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["metadata"],
        json!({"visits": 4, "prefs": {"sugar": true}, "nickname": "Annie"})
    );

    // Leaving metadata out keeps it.
    let r = app.patch(&path, &json!({"customer": {"last_name": "Li"}}));
    assert_eq!(
        r.body["metadata"],
        json!({"visits": 4, "prefs": {"sugar": true}, "nickname": "Annie"})
    );
    assert_eq!(
        app.get(&path).body["metadata"],
        json!({"visits": 4, "prefs": {"sugar": true}, "nickname": "Annie"})
    );

    // `"metadata": null` empties it.
    let r = app.patch(&path, &json!({"customer": {"metadata": null}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["metadata"], json!({}));
    assert_eq!(app.get(&path).body["metadata"], json!({}));
}

#[test]
fn external_references_are_upserted_and_unique_in_the_store() {
    let app = spawn_app();
    let ann = full_customer(&app);
    let path = customer_path(&app, &ann["id"]);

    let r = app.patch(
        &path,
        &json!({"customer": {"external_references": [
            {"source": "pos", "external_id": "42", "metadata": {"till": 5}},
            {"source": "crm", "external_id": "C-1"}
        ]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["external_references"],
        json!([
            {"source": "pos", "external_id": "42", "metadata": {"till": 5}},
            {"source": "crm", "external_id": "C-1", "metadata": {}}
        ])
    );
    // Leaving them out keeps them; repeating a pair does not duplicate it.
    let r = app.put(
        &path,
        &json!({"customer": {"external_references": [{"source": "crm", "external_id": "C-1"}]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["external_references"].as_array().unwrap().len(), 2);
    assert_eq!(
        count_rows(&app, "SELECT count(*) FROM external_references"),
        2
    );

    // The same pair on another customer: on create ...
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "Bo", "email": "bo@example.com",
            "external_references": [{"source": "pos", "external_id": "42"}]}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"external_references.external_id": ["has already been taken"]}))
    );
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 1);

    // ... and on update.
    let bo = app.create_customer(
        json!({"customer": {"first_name": "Bo", "email": "bo@example.com",
        "external_references": [{"source": "web", "external_id": "42"}]}}),
    );
    assert_eq!(
        bo["external_references"],
        json!([{"source": "web", "external_id": "42", "metadata": {}}]),
        "same external_id under another source is another reference"
    );
    let r = app.patch(
        &customer_path(&app, &bo["id"]),
        &json!({"customer": {"external_references": [{"source": "crm", "external_id": "C-1"}]}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body,
        validation(json!({"external_references.external_id": ["has already been taken"]}))
    );
    // Ann still holds it, Bo did not get it.
    let s = app.get(&customer_path(&app, &bo["id"]));
    assert_eq!(s.body["external_references"].as_array().unwrap().len(), 1);
    let s = app.get(&path);
    assert_eq!(s.body["external_references"][1]["external_id"], "C-1");

    // Another store may use the same pair.
    let (other, other_token) = app.new_store("Other Store");
    let r = post_as(
        &app,
        &other_token,
        &format!("/api/v1/accounts/{other}/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com",
            "external_references": [{"source": "pos", "external_id": "42"}]}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn show_is_404_for_unknown_or_foreign_customers() {
    let app = spawn_app();
    let ours =
        app.create_customer(json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}}));
    let (other, other_token) = app.new_store("Other Store");
    let r = post_as(
        &app,
        &other_token,
        &format!("/api/v1/accounts/{other}/customers"),
        &json!({"customer": {"first_name": "Bo", "email": "bo@example.com"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.body["id"].as_i64().unwrap();

    let not_found = json!({"error": "Customer not found"});
    for id in [
        "999999".to_string(),
        "abc".into(),
        "0".into(),
        "-1".into(),
        "1.5".into(),
        "99999999999999999999".into(),
        theirs.to_string(),
    ] {
        let r = app.get(&app.store_path(&format!("/customers/{id}")));
        assert_eq!(r.status, 404, "{id}: {}", r.text);
        assert_eq!(r.body, not_found, "{id}");
        let r = app.patch(
            &app.store_path(&format!("/customers/{id}")),
            &json!({"customer": {"first_name": "Hacked"}}),
        );
        assert_eq!(r.status, 404, "PATCH {id}: {}", r.text);
        assert_eq!(r.body, not_found, "PATCH {id}");
    }

    // The other store's path with our token: 404 too, never 403.
    for path in [
        format!("/api/v1/accounts/{other}/customers/{theirs}"),
        format!("/api/v1/accounts/{other}/customers"),
        format!("/api/v1/accounts/{other}/customers/{}", ours["id"]),
    ] {
        let r = app.get(&path);
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Store not found"}), "{path}");
    }
    let r = app.patch(
        &format!("/api/v1/accounts/{other}/customers/{theirs}"),
        &json!({"customer": {"first_name": "Hacked"}}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app.post(
        &format!("/api/v1/accounts/{other}/customers"),
        &json!({"customer": {"first_name": "Mole", "email": "mole@example.com"}}),
    );
    assert_eq!(r.status, 404, "{}", r.text);

    // Their customer is untouched and still theirs.
    let first: String = app
        .conn()
        .query_row(
            "SELECT first_name FROM customers WHERE id = ?1",
            [theirs],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(first, "Bo");
    assert_eq!(count_rows(&app, "SELECT count(*) FROM customers"), 2);
}

#[test]
fn restart_keeps_customers_cards_and_stamps() {
    let mut app = spawn_app();
    let card =
        app.create_card(json!({"name": "Coffee", "stamps_required": 8, "initial_stamps": 2}));
    let c = app.create_customer(json!({
        "customer": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
            "metadata": {"tier": "gold"},
            "external_references": [{"source": "pos", "external_id": "42"}]},
        "card_id": card["id"]
    }));
    let before = app.get(&customer_path(&app, &c["id"]));
    assert_eq!(before.status, 200);
    let old_base = app.base.clone();

    app.restart();

    let after = app.get(&customer_path(&app, &c["id"]));
    assert_eq!(after.status, 200, "{}", after.text);
    // The wallet URLs follow the server's address, which changed with the new port.
    let expected: Value = serde_json::from_str(&before.text.replace(&old_base, &app.base)).unwrap();
    assert_eq!(after.body, expected);
    assert_eq!(after.body["stamp_count"], 2);
    assert_eq!(after.body["customer_cards"][0]["stamps_count"], 2);
    assert_eq!(
        after.body["customer_cards"][0]["code"],
        c["customer_card"]["code"]
    );

    let card_after = app.get(&app.store_path(&format!("/cards/{}", card["id"])));
    assert_eq!(card_after.status, 200, "{}", card_after.text);
    assert_eq!(card_after.body["name"], "Coffee");
    assert_eq!(card_after.body["initial_stamps"], 2);

    let list = app.get(&customers_path(&app));
    assert_eq!(list.status, 200);
    assert_eq!(list.body["pagination"]["count"], 1);
    assert_eq!(list.body["customers"][0]["id"], c["id"]);

    // Still unique after the restart.
    let r = app.post(
        &customers_path(&app),
        &json!({"customer": {"first_name": "X", "email": "ANN@example.com"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
}

#[test]
fn delete_erases_personal_data_and_keeps_the_anonymised_ledger() {
    let app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee", "initial_stamps": 2}));
    let created = app.create_customer(json!({
        "customer": {"first_name": "Erin", "last_name": "Gone", "email": "erin@example.com",
                     "phone": "+1 415 555 0177", "birthday": "1990-01-02",
                     "metadata": {"tier": "gold"},
                     "external_references": [{"source": "pos", "external_id": "E-1"}]},
        "card_id": card["id"],
        "send_card_links": true,
    }));
    let id = created["id"].as_i64().unwrap();
    let cc = &created["customer_card"];
    let stamp = app.post(
        &app.store_path(&format!(
            "/customers/{id}/customer_cards/{}/stamp",
            cc["id"]
        )),
        &json!({"stamps": 3}),
    );
    assert_eq!(stamp.status, 200, "{}", stamp.text);

    let r = app.delete(&app.store_path(&format!("/customers/{id}")));
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());

    assert_eq!(
        app.get(&app.store_path(&format!("/customers/{id}"))).status,
        404
    );
    let again = app.request(
        "DELETE",
        &app.store_path(&format!("/customers/{id}")),
        Some(&app.token),
        None,
        None,
    );
    assert_eq!(again.status, 404);
    let list = app.get(&app.store_path("/customers"));
    assert_eq!(list.body["pagination"]["count"], 0);
    for q in [
        "erin",
        "erin@example.com",
        "5550177",
        "E-1",
        cc["code"].as_str().unwrap(),
    ] {
        let r = app.get(&app.store_path(&format!("/customers?search={q}")));
        assert_eq!(r.body["pagination"]["count"], 0, "search {q}: {}", r.text);
    }
    assert_eq!(app.get(&app.store_path("")).body["customers_count"], 0);
    let page = app.request(
        "GET",
        &format!("/c/{}", cc["uuid"].as_str().unwrap()),
        None,
        None,
        None,
    );
    assert_eq!(page.status, 404);

    let conn = app.conn();
    let (first, email, phone, birthday, meta): (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    ) = conn
        .query_row(
            "SELECT first_name, email, phone, birthday, metadata FROM customers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (first.as_str(), email, phone, birthday, meta.as_str()),
        ("", None, None, None, "{}")
    );
    let refs: i64 = conn
        .query_row(
            "SELECT count(*) FROM external_references WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let deliveries: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((refs, deliveries), (0, 0));
    let (events, sum): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(stamps) FROM stamp_events WHERE customer_card_id = ?1",
            [cc["id"].as_i64().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((events, sum), (2, 5));

    // The freed email and phone may be used again.
    app.create_customer(json!({"customer": {"first_name": "New", "email": "erin@example.com", "phone": "4155550177"}}));
}
