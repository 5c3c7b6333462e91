//! Staff at the counter: paired devices, staff PINs and their lock-outs, roles on every
//! route, who gave each stamp, and the stamp limits of card templates.

use serde_json::{json, Value};

use crate::support::app::{spawn_app, Resp, TestApp};

const SESSION: &str = "X-Staff-Session";

/// A paired device: its token, and its id.
pub fn pair_device(app: &TestApp, name: &str) -> (String, i64) {
    let code = app.post_ok(
        &app.store_path("/devices/pairing_codes"),
        json!({"name": name}),
    );
    let shown = code["code"].as_str().expect("a code").to_string();
    assert!(code["qr_svg"].as_str().unwrap().contains("<svg"));
    let r = app.send(
        "POST",
        "/api/v1/devices/pair",
        None,
        Some("application/json"),
        Some(json!({"code": shown.to_lowercase()}).to_string().as_bytes()),
        &[],
    );
    assert_eq!(r.status, 201, "pair: {}", r.text);
    (
        r.body["token"].as_str().unwrap().to_string(),
        r.body["device"]["id"].as_i64().unwrap(),
    )
}

pub fn add_staff(app: &TestApp, name: &str, pin: &str, role: &str) -> i64 {
    let r = app.post_ok(
        &app.store_path("/staff"),
        json!({"staff": {"name": name, "pin": pin, "role": role}}),
    );
    assert!(r.get("pin").is_none() && r.get("pin_hash").is_none());
    r["id"].as_i64().unwrap()
}

pub fn sign_in(app: &TestApp, device: &str, staff_id: i64, pin: &str) -> Resp {
    app.request(
        "POST",
        &app.store_path(&format!("/staff/{staff_id}/sessions")),
        Some(device),
        Some("application/json"),
        Some(&json!({"pin": pin}).to_string()),
    )
}

/// A signed-in session's token.
pub fn session(app: &TestApp, device: &str, staff_id: i64, pin: &str) -> String {
    let r = sign_in(app, device, staff_id, pin);
    assert_eq!(r.status, 201, "sign in: {}", r.text);
    r.body["token"].as_str().unwrap().to_string()
}

/// A request from a device, with a staff session when given.
pub fn as_device(
    app: &TestApp,
    device: &str,
    session: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let headers: Vec<(&str, &str)> = session.map(|s| (SESSION, s)).into_iter().collect();
    let body = body.map(|b| b.to_string());
    let ct = body.as_ref().map(|_| "application/json");
    app.request_with_headers(method, path, Some(device), ct, body.as_deref(), &headers)
}

struct Counter {
    app: TestApp,
    device: String,
    device_id: i64,
    barista: i64,
    barista_session: String,
    manager_session: String,
}

fn counter() -> Counter {
    let app = spawn_app();
    let (device, device_id) = pair_device(&app, "Counter tablet");
    let barista = add_staff(&app, "Sam", "1234", "staff");
    let manager = add_staff(&app, "Olga", "987654", "owner");
    let barista_session = session(&app, &device, barista, "1234");
    let manager_session = session(&app, &device, manager, "987654");
    Counter {
        app,
        device,
        device_id,
        barista,
        barista_session,
        manager_session,
    }
}

/// Every operation the OpenAPI document marks owner-only answers 403 to a staff
/// member's session and is reached by an owner; staff operations are reached by staff;
/// a device nobody is signed in on reaches only the picker and the sign-in.
#[test]
fn roles_decide_who_reaches_each_route() {
    let c = counter();
    let app = &c.app;
    let doc = app.get_ok("/api/v1/openapi.json");
    let mut owner_only = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(role) = op["x-stampd-role"].as_str() else {
                continue;
            };
            // Signing out would end the sessions this loop uses; it has a test below.
            if !path.contains("{account_id}") || path.ends_with("/counter/session") {
                continue;
            }
            let url = path
                .replace("{account_id}", &app.store_id.to_string())
                .replace("{customer_id}", "999")
                .replace("{id}", "999");
            let method = method.to_uppercase();
            let body = (method != "GET").then(|| json!({}));
            let staff = as_device(
                app,
                &c.device,
                Some(&c.barista_session),
                &method,
                &url,
                body.clone(),
            );
            let nobody = as_device(app, &c.device, None, &method, &url, body.clone());
            let manager = as_device(
                app,
                &c.device,
                Some(&c.manager_session),
                &method,
                &url,
                body.clone(),
            );
            assert_ne!(
                manager.status, 403,
                "{method} {url} as an owner: {}",
                manager.text
            );
            match role {
                "owner" => {
                    owner_only += 1;
                    assert_eq!(staff.status, 403, "{method} {url} as staff: {}", staff.text);
                    assert_eq!(staff.body, json!({"error": "Forbidden – owners only"}));
                    assert_eq!(nobody.status, 403, "{method} {url} from nobody");
                }
                "staff" => {
                    assert_ne!(staff.status, 403, "{method} {url} as staff: {}", staff.text);
                    assert_eq!(nobody.status, 403, "{method} {url} from nobody");
                    assert_eq!(
                        nobody.body["error"],
                        "Forbidden – sign in with a staff PIN first"
                    );
                }
                _ => assert_ne!(nobody.status, 403, "{method} {url}: {}", nobody.text),
            }
            // Another store stays 404 for everyone: nothing can be probed.
            let elsewhere =
                url.replacen(&format!("/accounts/{}", app.store_id), "/accounts/9999", 1);
            let other = as_device(
                app,
                &c.device,
                Some(&c.barista_session),
                &method,
                &elsewhere,
                body,
            );
            assert_eq!(other.status, 404, "{method} {elsewhere}");
        }
    }
    assert!(owner_only >= 30, "only {owner_only} owner-only operations");

    // The staff list is the owner's; the picker is anyone's.
    let picker = as_device(
        app,
        &c.device,
        None,
        "GET",
        &app.store_path("/counter"),
        None,
    );
    assert_eq!(picker.status, 200, "{}", picker.text);
    assert_eq!(picker.body["role"], Value::Null);
    assert_eq!(picker.body["device"]["name"], "Counter tablet");
    assert_eq!(picker.body["staff_picker"].as_array().unwrap().len(), 2);
    let me = as_device(
        app,
        &c.device,
        Some(&c.barista_session),
        "GET",
        &app.store_path("/counter"),
        None,
    );
    assert_eq!(me.body["role"], "staff");
    assert_eq!(me.body["staff"]["name"], "Sam");

    // Signing out ends the session at once.
    let out = as_device(
        app,
        &c.device,
        Some(&c.barista_session),
        "DELETE",
        &app.store_path("/counter/session"),
        None,
    );
    assert_eq!(out.status, 204);
    let after = as_device(
        app,
        &c.device,
        Some(&c.barista_session),
        "GET",
        &app.store_path("/customers"),
        None,
    );
    assert_eq!(after.status, 403);

    // Made inactive, a member is signed out and cannot sign in.
    let r = app.patch(
        &app.store_path(&format!("/staff/{}", c.barista)),
        &json!({"staff": {"active": false}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(sign_in(app, &c.device, c.barista, "1234").status, 404);

    // Only a paired device signs staff in.
    let r = app.post(
        &app.store_path(&format!("/staff/{}/sessions", c.barista)),
        &json!({"pin": "1234"}),
    );
    assert_eq!(r.status, 403);
}

#[test]
fn staff_members_are_checked_and_never_show_their_pin() {
    let app = spawn_app();
    for (body, field) in [
        (json!({"staff": {"name": "Sam", "pin": "12"}}), "pin"),
        (json!({"staff": {"name": "Sam", "pin": "123456789"}}), "pin"),
        (json!({"staff": {"name": "Sam", "pin": "12a4"}}), "pin"),
        (json!({"staff": {"name": "Sam", "pin": 1234}}), "pin"),
        (json!({"staff": {"name": "Sam"}}), "pin"),
        (json!({"staff": {"pin": "1234"}}), "name"),
        (
            json!({"staff": {"name": "Sam", "pin": "1234", "role": "boss"}}),
            "role",
        ),
    ] {
        let r = app.post(&app.store_path("/staff"), &body);
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert!(r.body["errors"][field].is_array(), "{body}: {}", r.text);
    }
    let id = add_staff(&app, "Sam", "0042", "staff");
    let stored: String = app
        .conn()
        .query_row("SELECT pin_hash FROM staff WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains("0042"));
    let list = app.get_ok(&app.store_path("/staff"));
    assert_eq!(list[0]["name"], "Sam");
    assert_eq!(list[0]["role"], "staff");
    assert!(!list.to_string().contains("argon2"));
}

#[test]
fn wrong_pins_lock_out_the_member_and_the_device_until_an_owner_unlocks() {
    let app = spawn_app();
    let (device, device_id) = pair_device(&app, "Tablet");
    let sam = add_staff(&app, "Sam", "1234", "staff");
    for n in 1..=4 {
        let r = sign_in(&app, &device, sam, "0000");
        assert_eq!(r.status, 422, "try {n}: {}", r.text);
        assert_eq!(r.body["errors"]["pin"], json!(["is wrong"]));
    }
    let r = sign_in(&app, &device, sam, "0000");
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["errors"]["pin"],
        json!(["is wrong; further tries wait 30 seconds"])
    );
    // Locked: even the right PIN waits.
    let r = sign_in(&app, &device, sam, "1234");
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() <= 30);
    // The owner sees it: in the staff list and the flags.
    let member = app.get_ok(&app.store_path(&format!("/staff/{sam}")));
    assert!(member["locked_until"].is_string());
    assert_eq!(member["failed_pins"], 5);
    let flags = app.get_ok(&app.store_path("/flags"));
    assert_eq!(flags["flags"][0]["kind"], "pin_lockout");
    assert_eq!(flags["flags"][0]["staff_name"], "Sam");
    // The lock-out grows: past it, one more wrong PIN locks for twice as long.
    app.write_tx(|tx| {
        tx.execute(
            "UPDATE staff SET locked_until = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
    });
    let r = sign_in(&app, &device, sam, "9999");
    assert_eq!(
        r.body["errors"]["pin"],
        json!(["is wrong; further tries wait 60 seconds"])
    );
    // The owner lifts it.
    let r = app.post(&app.store_path(&format!("/staff/{sam}/unlock")), &json!({}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["locked_until"], Value::Null);
    assert_eq!(sign_in(&app, &device, sam, "1234").status, 201);

    // Per device: wrong PINs spread over members lock the device.
    let others: Vec<i64> = (0..3)
        .map(|i| add_staff(&app, &format!("Member {i}"), "5555", "staff"))
        .collect();
    for (i, &m) in others.iter().enumerate() {
        for _ in 0..[4, 4, 2][i] {
            assert_eq!(sign_in(&app, &device, m, "1111").status, 422);
        }
    }
    let r = sign_in(&app, &device, sam, "1234");
    assert_eq!(r.status, 429, "the device is locked: {}", r.text);
    let listed = app.get_ok(&app.store_path("/devices"));
    assert!(listed[0]["locked_until"].is_string());
    // Another device is not.
    let (other_device, _) = pair_device(&app, "Second tablet");
    assert_eq!(sign_in(&app, &other_device, sam, "1234").status, 201);
    let r = app.post(
        &app.store_path(&format!("/devices/{device_id}/unlock")),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sign_in(&app, &device, sam, "1234").status, 201);
}

#[test]
fn a_device_pairs_once_works_and_stops_when_revoked() {
    let mut app = spawn_app();
    let code = app.post_ok(&app.store_path("/devices/pairing_codes"), json!({}));
    let shown = code["code"].as_str().unwrap().to_string();
    assert_eq!(code["name"], "Counter tablet");
    assert!(code["pair_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("#pair={shown}")));
    let pair = |code: &str| {
        app.send(
            "POST",
            "/api/v1/devices/pair",
            None,
            Some("application/json"),
            Some(json!({"code": code}).to_string().as_bytes()),
            &[],
        )
    };
    assert_eq!(pair("AAAA-AAAA").status, 422);
    let r = pair(&shown.replace('-', ""));
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_string();
    let device_id = r.body["device"]["id"].as_i64().unwrap();
    let again = pair(&shown);
    assert_eq!(again.status, 422, "a code works once");
    assert!(again.body["errors"]["code"].is_array());

    // An expired code does not work.
    let late = app.post_ok(
        &app.store_path("/devices/pairing_codes"),
        json!({"name": "Late"}),
    );
    app.write_tx(|tx| {
        tx.execute(
            "UPDATE pairing_codes SET expires_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
    });
    assert_eq!(pair(late["code"].as_str().unwrap()).status, 422);

    // The device reaches its store (and lists just it), and shows its last use.
    let r = as_device(&app, &token, None, "GET", "/api/v1/accounts", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    app.restart();
    let listed = app.get_ok(&app.store_path("/devices"));
    assert_eq!(listed[0]["id"], device_id);
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    assert_eq!(listed[0]["revoked_at"], Value::Null);

    let sam = add_staff(&app, "Sam", "1234", "staff");
    let s = session(&app, &token, sam, "1234");
    assert_eq!(
        as_device(
            &app,
            &token,
            Some(&s),
            "GET",
            &app.store_path("/customers"),
            None
        )
        .status,
        200
    );
    assert_eq!(
        app.delete(&app.store_path(&format!("/devices/{device_id}")))
            .status,
        204
    );
    assert_eq!(
        app.delete(&app.store_path(&format!("/devices/{device_id}")))
            .status,
        404
    );
    let r = as_device(
        &app,
        &token,
        Some(&s),
        "GET",
        &app.store_path("/customers"),
        None,
    );
    assert_eq!(r.status, 401, "revoked: {}", r.text);
    let listed = app.get_ok(&app.store_path("/devices"));
    assert!(listed[0]["revoked_at"].is_string());
}

fn stamp_as(c: &Counter, session: Option<&str>, customer: i64, cc: i64, body: Value) -> Resp {
    let path = c
        .app
        .store_path(&format!("/customers/{customer}/customer_cards/{cc}/stamp"));
    match session {
        Some(s) => as_device(&c.app, &c.device, Some(s), "POST", &path, Some(body)),
        None => c.app.post(&path, &body),
    }
}

fn enrolled(app: &TestApp, card: Value) -> (i64, i64) {
    let card = app.create_card(card);
    let customer = app.enrol(
        "Ann",
        "Lee",
        "ann@example.com",
        card["id"].as_i64().unwrap(),
    );
    (
        customer["id"].as_i64().unwrap(),
        customer["customer_card"]["id"].as_i64().unwrap(),
    )
}

#[test]
fn ledger_rows_name_the_staff_member_and_the_device() {
    let c = counter();
    let app = &c.app;
    let (customer, cc) = enrolled(app, json!({"name": "Coffee"}));
    assert_eq!(
        stamp_as(
            &c,
            Some(&c.barista_session),
            customer,
            cc,
            json!({"stamps": 2})
        )
        .status,
        200
    );
    assert_eq!(
        stamp_as(&c, None, customer, cc, json!({"stamps": 1})).status,
        200
    );
    assert_eq!(
        stamp_as(
            &c,
            Some(&c.manager_session),
            customer,
            cc,
            json!({"stamps": 1})
        )
        .status,
        200
    );
    let events = app.events(customer, cc);
    assert_eq!(events[0]["staff_name"], "Olga");
    assert_eq!(events[0]["device_id"], c.device_id);
    assert_eq!(events[1]["staff_id"], Value::Null);
    assert_eq!(events[1]["staff_name"], Value::Null);
    assert_eq!(events[1]["device_id"], Value::Null);
    assert_eq!(events[2]["staff_id"], c.barista);
    assert_eq!(events[2]["staff_name"], "Sam");
    assert_eq!(events[2]["device_id"], c.device_id);

    let base = format!("/customers/{customer}/customer_cards/{cc}/events");
    let sams = app.get_ok(&app.store_path(&format!("{base}?staff_id={}", c.barista)));
    assert_eq!(sams["pagination"]["count"], 1);
    assert_eq!(sams["events"][0]["stamps"], 2);
    let tablet = app.get_ok(&app.store_path(&format!("{base}?device_id={}", c.device_id)));
    assert_eq!(tablet["pagination"]["count"], 2);
    assert_eq!(
        app.get(&app.store_path(&format!("{base}?staff_id=x")))
            .status,
        422
    );

    // Staff may take back only their own last stamp; owners any.
    let r = stamp_as(
        &c,
        Some(&c.barista_session),
        customer,
        cc,
        json!({"stamps": -1}),
    );
    assert_eq!(r.status, 403, "Olga's stamp is the last: {}", r.text);
    assert_eq!(
        stamp_as(
            &c,
            Some(&c.barista_session),
            customer,
            cc,
            json!({"stamps": 1})
        )
        .status,
        200
    );
    let r = stamp_as(
        &c,
        Some(&c.barista_session),
        customer,
        cc,
        json!({"stamps": -2}),
    );
    assert_eq!(r.status, 403, "more than was given");
    assert_eq!(
        stamp_as(
            &c,
            Some(&c.barista_session),
            customer,
            cc,
            json!({"stamps": -1})
        )
        .status,
        200
    );
    let r = stamp_as(
        &c,
        Some(&c.barista_session),
        customer,
        cc,
        json!({"stamps": -1}),
    );
    assert_eq!(r.status, 403, "already taken back");
    assert_eq!(
        stamp_as(
            &c,
            Some(&c.manager_session),
            customer,
            cc,
            json!({"stamps": -1})
        )
        .status,
        200
    );
}

/// Moves every ledger row of the card back by `minutes` (its visit too).
fn age(app: &TestApp, cc: i64, minutes: i64) {
    let shift = format!("-{minutes} minutes");
    app.write_tx(|tx| {
        tx.execute(
            "UPDATE stamp_events SET
                created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?2),
                visit_started_at = strftime('%Y-%m-%dT%H:%M:%fZ', visit_started_at, ?2)
             WHERE customer_card_id = ?1",
            rusqlite::params![cc, shift],
        )
        .unwrap();
    });
}

#[test]
fn stamps_per_visit_are_limited_and_the_owner_may_override() {
    let c = counter();
    let app = &c.app;
    let (customer, cc) = enrolled(app, json!({"name": "Coffee", "max_stamps_per_visit": 2}));
    let staff = Some(c.barista_session.as_str());
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 2})).status,
        200
    );
    let r = stamp_as(&c, staff, customer, cc, json!({"stamps": 1}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["error"],
        "Stamp refused – limit max_stamps_per_visit reached"
    );
    assert!(r.body["errors"]["max_stamps_per_visit"].is_array());
    let r = stamp_as(
        &c,
        staff,
        customer,
        cc,
        json!({"stamps": 1, "override": true}),
    );
    assert_eq!(r.status, 403, "a staff override: {}", r.text);
    let r = stamp_as(
        &c,
        Some(&c.manager_session),
        customer,
        cc,
        json!({"stamps": 1, "override": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 3);
    let flags = app.get_ok(&app.store_path("/flags?items=1"));
    assert_eq!(flags["pagination"]["count"], 2);
    assert_eq!(flags["pagination"]["pages"], 2);
    assert_eq!(flags["flags"][0]["kind"], "override");
    assert_eq!(flags["flags"][0]["staff_name"], "Olga");
    let older = app.get_ok(&app.store_path("/flags?items=1&page=2"));
    assert_eq!(older["flags"][0]["kind"], "refused");
    assert_eq!(older["flags"][0]["limit_name"], "max_stamps_per_visit");
    assert_eq!(older["flags"][0]["staff_name"], "Sam");
    assert_eq!(older["flags"][0]["customer_card_id"], cc);

    // A visit ends two hours after its first stamp: at 119 minutes it is the same
    // visit, past 120 a new one.
    age(app, cc, 119);
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        422
    );
    age(app, cc, 2);
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 2})).status,
        200
    );
    // The new visit has the same limit.
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        422
    );
    // Staff may take back their own last stamp, which frees its place.
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": -1})).status,
        200
    );
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        200
    );
    // A limit removed no longer refuses.
    let card_id = app.customer_card(customer, cc)["card_id"].as_i64().unwrap();
    let r = app.patch(
        &app.store_path(&format!("/cards/{card_id}")),
        &json!({"card": {"max_stamps_per_visit": null}}),
    );
    assert_eq!(r.body["max_stamps_per_visit"], Value::Null);
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 5})).status,
        200
    );
}

#[test]
fn minutes_between_visits_and_stamps_per_day_are_limited() {
    let c = counter();
    let app = &c.app;
    let staff = Some(c.barista_session.as_str());
    let (customer, cc) = enrolled(
        app,
        json!({"name": "Coffee", "min_minutes_between_visits": 180}),
    );
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        200
    );
    // Within the visit the gap does not apply.
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        200
    );
    // A new visit (past two hours) 179 minutes after the last stamp: refused.
    age(app, cc, 179);
    let r = stamp_as(&c, staff, customer, cc, json!({"stamps": 1}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["errors"]["min_minutes_between_visits"].is_array());
    age(app, cc, 2);
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        200
    );

    let (customer, cc) = {
        let card = app.create_card(json!({"name": "Tea", "max_stamps_per_day": 3}));
        let who = app.enrol("Bo", "Yu", "bo@example.com", card["id"].as_i64().unwrap());
        (
            who["id"].as_i64().unwrap(),
            who["customer_card"]["id"].as_i64().unwrap(),
        )
    };
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 2})).status,
        200
    );
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 1})).status,
        200
    );
    let r = stamp_as(&c, staff, customer, cc, json!({"stamps": 1}));
    assert_eq!(r.status, 422);
    assert!(r.body["errors"]["max_stamps_per_day"].is_array());
    // An owner's API token overrides too.
    let r = stamp_as(
        &c,
        None,
        customer,
        cc,
        json!({"stamps": 1, "override": true}),
    );
    assert_eq!(r.status, 200);
    // Yesterday's stamps do not count today.
    age(app, cc, 24 * 60 + 1);
    assert_eq!(
        stamp_as(&c, staff, customer, cc, json!({"stamps": 3})).status,
        200
    );
    let flags = app.get_ok(&app.store_path("/flags"));
    let kinds: Vec<&str> = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["override", "refused", "refused"]);

    for (key, bad) in [
        ("max_stamps_per_visit", json!(0)),
        ("min_minutes_between_visits", json!(-5)),
        ("max_stamps_per_day", json!("many")),
    ] {
        let r = app.post(
            &app.store_path("/cards"),
            &json!({"card": {"name": "X", key: bad}}),
        );
        assert_eq!(r.status, 422, "{key}: {}", r.text);
        assert!(r.body["errors"][key].is_array(), "{key}: {}", r.text);
    }
}
