//! Stamping, corrections, redemptions and the ledger of a customer card
//! (`POST .../customer_cards/:id/stamp`, `.../redeem`, `GET .../events`).
//!
//! The small helpers at the top (`card`, `reward`, `enrol`, `Enrolled`) are shared with
//! the idempotency, concurrency and ledger-model tests.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use crate::support::app::*;

// ---------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------

pub(crate) const REDEEM_FAILED: &str = "Redemption failed – not enough stamps or reward inactive";

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A number unique within this test binary (for emails and names).
pub(crate) fn unique() -> usize {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Creates a card template with `stamps_required` (and any other attributes); its id.
pub(crate) fn card(app: &TestApp, stamps_required: i64, extra: Value) -> i64 {
    let mut attrs =
        json!({"name": format!("Card {}", unique()), "stamps_required": stamps_required});
    if let Value::Object(m) = extra {
        attrs.as_object_mut().unwrap().extend(m);
    }
    app.create_card(attrs)["id"].as_i64().expect("card id")
}

/// Creates an active reward of a card; its id.
pub(crate) fn reward(app: &TestApp, card_id: i64, name: &str, stamps_required: i64) -> i64 {
    let r = app.post(
        &app.store_path("/rewards"),
        &json!({"reward": {"card_id": card_id, "name": name, "stamps_required": stamps_required}}),
    );
    assert_eq!(r.status, 201, "create reward: {}", r.text);
    r.body["id"].as_i64().expect("reward id")
}

/// A customer's card, as the paths need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enrolled {
    pub customer_id: i64,
    pub id: i64,
}

/// A new customer enrolled in `card_id`.
pub(crate) fn enrol(app: &TestApp, card_id: i64) -> Enrolled {
    let n = unique();
    let c = app.create_customer(json!({
        "customer": {"first_name": format!("Ann{n}"), "email": format!("ann{n}@example.com")},
        "card_id": card_id,
    }));
    Enrolled {
        customer_id: c["id"].as_i64().expect("customer id"),
        id: c["customer_card"]["id"].as_i64().expect("customer card id"),
    }
}

impl Enrolled {
    /// `/api/v1/accounts/:store/customers/:c/customer_cards/:id` + `rest`.
    pub fn path(&self, app: &TestApp, rest: &str) -> String {
        app.store_path(&format!(
            "/customers/{}/customer_cards/{}{rest}",
            self.customer_id, self.id
        ))
    }

    pub fn stamp(&self, app: &TestApp, stamps: i64) -> Resp {
        app.post(&self.path(app, "/stamp"), &json!({ "stamps": stamps }))
    }

    pub fn redeem(&self, app: &TestApp, reward_id: i64) -> Resp {
        app.post(
            &self.path(app, "/redeem"),
            &json!({ "reward_id": reward_id }),
        )
    }

    /// The customer card JSON (asserting 200).
    pub fn show(&self, app: &TestApp) -> Value {
        let r = app.get(&self.path(app, ""));
        assert_eq!(r.status, 200, "show customer card: {}", r.text);
        r.body
    }

    pub fn count(&self, app: &TestApp) -> i64 {
        self.show(app)["stamps_count"]
            .as_i64()
            .expect("stamps_count")
    }

    /// One page of the events endpoint (asserting 200).
    pub fn events_page(&self, app: &TestApp, query: &str) -> Value {
        let r = app.get(&self.path(app, &format!("/events{query}")));
        assert_eq!(r.status, 200, "events: {}", r.text);
        r.body
    }

    /// Every event, newest first, following the pages; and `pagination.count`.
    pub fn all_events(&self, app: &TestApp) -> (Vec<Value>, i64) {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let b = self.events_page(app, &format!("?items=100&page={page}"));
            let events = b["events"].as_array().expect("events array").clone();
            let count = b["pagination"]["count"].as_i64().expect("count");
            let pages = b["pagination"]["pages"].as_i64().expect("pages");
            out.extend(events);
            if page >= pages {
                return (out, count);
            }
            page += 1;
        }
    }

    /// The card's rows in `stamp_events`, oldest first: (kind, stamps, balance_after).
    pub fn ledger_rows(&self, app: &TestApp) -> Vec<(String, i64, i64)> {
        let conn = app.conn();
        let mut stmt = conn
            .prepare(
                "SELECT kind, stamps, balance_after FROM stamp_events
                 WHERE customer_card_id = ?1 ORDER BY id",
            )
            .unwrap();
        let rows = stmt
            .query_map([self.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// `stamps_count` as stored in the database.
    pub fn db_count(&self, app: &TestApp) -> i64 {
        app.conn()
            .query_row(
                "SELECT stamps_count FROM customer_cards WHERE id = ?1",
                [self.id],
                |r| r.get(0),
            )
            .unwrap()
    }
}

/// The id of the API token `token` in the database.
pub(crate) fn token_id(app: &TestApp, token: &str) -> i64 {
    app.conn()
        .query_row(
            "SELECT id FROM api_tokens WHERE token_hash = ?1",
            [stampd::tokens::hash(token).to_vec()],
            |r| r.get(0),
        )
        .expect("token row")
}

/// `2026-11-25T21:07:21.123Z`.
pub(crate) fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    assert!(s.len() == 24 && s.ends_with('Z'), "timestamp {s:?}");
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s}: {e}"));
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn errors_of<'a>(r: &'a Resp, field: &str) -> &'a Value {
    let e = &r.body["errors"][field];
    assert!(
        e.as_array().is_some_and(|a| !a.is_empty()),
        "expected errors.{field} in {}",
        r.text
    );
    e
}

fn app_without_limits() -> TestApp {
    spawn_app_with(|s| s.rate_limit_per_minute = 0)
}

// ---------------------------------------------------------------------------------
// Stamp
// ---------------------------------------------------------------------------------

#[test]
fn stamp_adds_stamps_and_answers_the_customer_card() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let cc = enrol(&app, card_id);

    let r = cc.stamp(&app, 3);
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["id"], cc.id);
    assert_eq!(b["customer_id"], cc.customer_id);
    assert_eq!(b["card_id"], card_id);
    assert_eq!(b["account_id"], app.store_id);
    assert_eq!(b["stamps_count"], 3);
    assert_eq!(b["stamps_remaining"], 7);
    assert_eq!(b["status"], "active");
    assert_eq!(b["progress_percentage"].as_f64(), Some(30.0));
    assert!(b["available_rewards"].is_array(), "{}", r.text);
    for k in [
        "card_name",
        "code",
        "uuid",
        "apple_wallet_url",
        "google_wallet_url",
        "pass_installed",
    ] {
        assert!(b.get(k).is_some(), "stamp response lacks {k}: {}", r.text);
    }

    let r = cc.stamp(&app, 2);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 5);
    // The answer is the card as it now is.
    let shown = cc.show(&app);
    assert_eq!(shown["stamps_count"], 5);
    assert_eq!(shown["stamps_remaining"], 5);
    assert_eq!(r.body["code"], shown["code"]);

    // The customer's stamp_count is the sum over their cards.
    let c = app.get(&app.store_path(&format!("/customers/{}", cc.customer_id)));
    assert_eq!(c.status, 200);
    assert_eq!(c.body["stamp_count"], 5, "{}", c.text);
    assert_eq!(c.body["customer_cards"][0]["stamps_count"], 5);
}

#[test]
fn stamps_is_required_and_not_zero() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));

    for body in [json!({}), json!({"stamps": null}), json!({"note": "x"})] {
        let r = app.post(&cc.path(&app, "/stamp"), &body);
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(
            r.body["errors"]["stamps"],
            json!(["can't be blank"]),
            "{}",
            r.text
        );
    }
    let r = cc.stamp(&app, 0);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"]["stamps"],
        json!(["must be other than 0"]),
        "{}",
        r.text
    );

    for body in [
        json!({"stamps": "many"}),
        json!({"stamps": 1.5}),
        json!({"stamps": [1]}),
    ] {
        let r = app.post(&cc.path(&app, "/stamp"), &body);
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        errors_of(&r, "stamps");
    }
    assert_eq!(cc.count(&app), 0);
    assert!(
        cc.ledger_rows(&app).is_empty(),
        "refused stamps leave no ledger row"
    );
}

#[test]
fn stamps_written_as_a_decimal_must_be_an_integer() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let path = cc.path(&app, "/stamp");
    let decimals = [
        app.post(&path, &json!({"stamps": 1.0})),
        app.post(&path, &json!({"stamps": "1.0"})),
        app.post(&path, &json!({"stamps": -2.5})),
        app.post_form(&path, "stamps=1.0"),
    ];
    for r in decimals {
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(
            r.body["errors"]["stamps"],
            json!(["must be an integer"]),
            "{}",
            r.text
        );
    }
    // Whole numbers past 64 bits are still "out of range".
    let r = app.post(&path, &json!({"stamps": 1e30}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"]["stamps"], json!(["is out of range"]));
    assert_eq!(cc.count(&app), 0);

    let r = app.post(
        &app.store_path("/cards"),
        &json!({"card": {"name": "Decimal", "stamps_required": 10.0}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"]["stamps_required"],
        json!(["must be an integer"]),
        "{}",
        r.text
    );
}

#[test]
fn stamps_range_from_minus_100_to_100() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));

    for n in [101, -101, 1000, -1000] {
        let r = cc.stamp(&app, n);
        assert_eq!(r.status, 422, "stamps {n}: {}", r.text);
        errors_of(&r, "stamps");
    }
    assert_eq!(cc.count(&app), 0);

    let r = cc.stamp(&app, 100);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 100);
    let r = cc.stamp(&app, -100);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 0);
    assert_eq!(cc.ledger_rows(&app).len(), 2);
}

#[test]
fn stamps_as_a_string_or_a_form_body_count() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let r = app.post(&cc.path(&app, "/stamp"), &json!({"stamps": "2"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 2);
    let r = app.post_form(&cc.path(&app, "/stamp"), "stamps=3&note=form+stamp");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 5);
    let (events, _) = cc.all_events(&app);
    assert_eq!(events[0]["note"], "form stamp");
}

#[test]
fn a_correction_never_takes_the_count_below_zero() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));

    let r = cc.stamp(&app, -1);
    assert_eq!(r.status, 422, "{}", r.text);
    errors_of(&r, "stamps");

    assert_eq!(cc.stamp(&app, 3).status, 200);
    let r = cc.stamp(&app, -2);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 1);

    let r = cc.stamp(&app, -2);
    assert_eq!(r.status, 422, "{}", r.text);
    errors_of(&r, "stamps");
    assert_eq!(cc.count(&app), 1, "a refused correction changes nothing");

    let r = cc.stamp(&app, -1);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 0);

    assert_eq!(
        cc.ledger_rows(&app),
        vec![
            ("stamp".to_string(), 3, 3),
            ("adjustment".to_string(), -2, 1),
            ("adjustment".to_string(), -1, 0),
        ]
    );
}

#[test]
fn stamps_carry_over_past_stamps_required() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 5, json!({})));

    let r = cc.stamp(&app, 4);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["stamps_remaining"], 1);
    assert_eq!(r.body["progress_percentage"].as_f64(), Some(80.0));

    let r = cc.stamp(&app, 3);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 7, "stamps are not capped");
    assert_eq!(r.body["stamps_remaining"], 0);
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.body["progress_percentage"].as_f64(), Some(100.0));
    assert_eq!(cc.count(&app), 7);
}

#[test]
fn an_archived_card_accepts_no_stamps() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let cc = enrol(&app, card_id);
    assert_eq!(cc.stamp(&app, 2).status, 200);

    let r = app.patch(
        &app.store_path(&format!("/cards/{card_id}")),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    for n in [1, -1] {
        let r = cc.stamp(&app, n);
        assert_eq!(r.status, 422, "stamps {n}: {}", r.text);
        assert_eq!(
            r.body["errors"]["card"],
            json!(["is archived"]),
            "{}",
            r.text
        );
    }
    assert_eq!(cc.count(&app), 2);
    assert_eq!(cc.show(&app)["status"], "archived");
    assert_eq!(cc.ledger_rows(&app).len(), 1);

    let r = app.patch(
        &app.store_path(&format!("/cards/{card_id}")),
        &json!({"card": {"archived": false}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = cc.stamp(&app, 1);
    assert_eq!(r.status, 200, "restored card stamps again: {}", r.text);
    assert_eq!(r.body["stamps_count"], 3);
}

#[test]
fn an_expired_card_accepts_no_stamps() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let cc = enrol(&app, card_id);

    let r = app.patch(
        &app.store_path(&format!("/cards/{card_id}")),
        &json!({"card": {"expires_at": "2020-01-01T00:00:00Z"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    let r = cc.stamp(&app, 1);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"]["card"],
        json!(["has expired"]),
        "{}",
        r.text
    );
    assert_eq!(cc.count(&app), 0);
    assert!(cc.ledger_rows(&app).is_empty());

    // A card that expires in the future still takes stamps.
    let r = app.patch(
        &app.store_path(&format!("/cards/{card_id}")),
        &json!({"card": {"expires_at": "2999-01-01T00:00:00Z"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(cc.stamp(&app, 1).status, 200);
}

#[test]
fn note_is_optional_bounded_and_kept_with_skip_notifications() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let path = cc.path(&app, "/stamp");

    let r = app.post(&path, &json!({"stamps": 1, "note": "n".repeat(501)}));
    assert_eq!(r.status, 422, "{}", r.text);
    errors_of(&r, "note");
    assert_eq!(cc.count(&app), 0);

    let long = "é".repeat(500);
    let r = app.post(
        &path,
        &json!({"stamps": 1, "note": &long, "skip_notifications": true}),
    );
    assert_eq!(r.status, 200, "500 characters is allowed: {}", r.text);
    let r = app.post(
        &path,
        &json!({"stamps": 2, "note": "birthday", "skip_notifications": "0"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post(&path, &json!({"stamps": 1, "skip_notifications": 1}));
    assert_eq!(r.status, 200, "{}", r.text);

    let (events, _) = cc.all_events(&app);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["note"], Value::Null);
    assert_eq!(events[0]["skip_notifications"], true);
    assert_eq!(events[1]["note"], "birthday");
    assert_eq!(events[1]["skip_notifications"], false);
    assert_eq!(events[2]["note"], json!(long));
    assert_eq!(events[2]["skip_notifications"], true);
}

#[test]
fn stamping_a_card_that_cannot_be_reached_is_404() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let ann = enrol(&app, card_id);
    let bo = enrol(&app, card_id);

    let paths = [
        // Bo's card under Ann.
        app.store_path(&format!(
            "/customers/{}/customer_cards/{}/stamp",
            ann.customer_id, bo.id
        )),
        app.store_path(&format!(
            "/customers/{}/customer_cards/999999/stamp",
            ann.customer_id
        )),
        app.store_path(&format!(
            "/customers/999999/customer_cards/{}/stamp",
            ann.id
        )),
        app.store_path(&format!(
            "/customers/{}/customer_cards/abc/stamp",
            ann.customer_id
        )),
    ];
    for p in paths {
        let r = app.post(&p, &json!({"stamps": 1}));
        assert_eq!(r.status, 404, "{p}: {}", r.text);
        assert!(r.body["error"].is_string(), "{}", r.text);
    }

    // Another store's token cannot reach this store's card.
    let (_, other) = app.new_store("Other");
    let r = app.request(
        "POST",
        &ann.path(&app, "/stamp"),
        Some(&other),
        Some("application/json"),
        Some(r#"{"stamps": 1}"#),
    );
    assert_eq!(r.status, 404, "{}", r.text);

    let r = app.request(
        "POST",
        &ann.path(&app, "/stamp"),
        None,
        Some("application/json"),
        Some(r#"{"stamps": 1}"#),
    );
    assert_eq!(r.status, 401, "{}", r.text);

    assert_eq!(ann.count(&app), 0);
    assert_eq!(bo.count(&app), 0);
}

// ---------------------------------------------------------------------------------
// Redeem
// ---------------------------------------------------------------------------------

#[test]
fn redeem_spends_the_rewards_stamps() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let coffee = reward(&app, card_id, "Free coffee", 4);
    let cc = enrol(&app, card_id);
    cc.stamp(&app, 6);

    let r = cc.redeem(&app, coffee);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sorted_keys(&r.body), ["redemption", "success"]);
    assert_eq!(r.body["success"], true);
    let red = &r.body["redemption"];
    assert_eq!(
        sorted_keys(red),
        [
            "id",
            "redeemed_at",
            "reward_id",
            "reward_name",
            "stamps_remaining",
            "stamps_spent"
        ]
    );
    assert!(red["id"].is_i64(), "{}", r.text);
    assert_eq!(red["reward_id"], coffee);
    assert_eq!(red["reward_name"], "Free coffee");
    assert_eq!(red["stamps_spent"], 4);
    assert_eq!(red["stamps_remaining"], 2);
    assert_timestamp(&red["redeemed_at"]);

    assert_eq!(cc.count(&app), 2);
    let c = app.get(&app.store_path(&format!("/customers/{}", cc.customer_id)));
    assert_eq!(c.body["stamp_count"], 2, "{}", c.text);

    let (events, _) = cc.all_events(&app);
    assert_eq!(events[0]["kind"], "redemption");
    assert_eq!(events[0]["stamps"], -4);
    assert_eq!(events[0]["balance_after"], 2);
    assert_eq!(events[0]["reward_id"], coffee);
    assert_eq!(events[0]["reward_name"], "Free coffee");
}

#[test]
fn redeem_with_exactly_enough_stamps_leaves_zero() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let r10 = reward(&app, card_id, "Big one", 10);
    let cc = enrol(&app, card_id);
    cc.stamp(&app, 10);
    let r = cc.redeem(&app, r10);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["redemption"]["stamps_remaining"], 0);
    let r = cc.redeem(&app, r10);
    assert_eq!(r.status, 422, "the same stamps pay only once: {}", r.text);
    assert_eq!(cc.count(&app), 0);
}

#[test]
fn redeem_with_too_few_stamps_is_422() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let coffee = reward(&app, card_id, "Free coffee", 4);
    let cc = enrol(&app, card_id);

    for stamps in [0, 3] {
        if stamps > 0 {
            cc.stamp(&app, stamps);
        }
        let r = cc.redeem(&app, coffee);
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.body["error"], REDEEM_FAILED, "{}", r.text);
        assert_eq!(
            cc.count(&app),
            stamps,
            "a refused redemption spends nothing"
        );
    }
    assert_eq!(
        cc.ledger_rows(&app).len(),
        1,
        "only the stamp is in the ledger"
    );
}

#[test]
fn redeem_of_an_inactive_reward_is_422() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let coffee = reward(&app, card_id, "Free coffee", 4);
    let cc = enrol(&app, card_id);
    cc.stamp(&app, 8);

    let r = app.patch(
        &app.store_path(&format!("/rewards/{coffee}")),
        &json!({"reward": {"active": false}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = cc.redeem(&app, coffee);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"], REDEEM_FAILED, "{}", r.text);
    assert_eq!(cc.count(&app), 8);

    app.patch(
        &app.store_path(&format!("/rewards/{coffee}")),
        &json!({"reward": {"active": true}}),
    );
    let r = cc.redeem(&app, coffee);
    assert_eq!(r.status, 200, "active again: {}", r.text);
    assert_eq!(cc.count(&app), 4);
}

#[test]
fn redeem_of_a_reward_of_another_card_or_store_is_404() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let other_card = card(&app, 10, json!({}));
    let foreign = reward(&app, other_card, "Other card's", 1);
    let deleted = reward(&app, card_id, "Gone", 1);
    assert_eq!(
        app.request(
            "DELETE",
            &app.store_path(&format!("/rewards/{deleted}")),
            Some(&app.token),
            None,
            None
        )
        .status,
        204
    );
    let cc = enrol(&app, card_id);
    cc.stamp(&app, 10);

    // A reward of another store.
    let (store2, token2) = app.new_store("Elsewhere");
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{store2}/cards"),
        Some(&token2),
        Some("application/json"),
        Some(r#"{"card": {"name": "Theirs"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let body = json!({"reward": {"card_id": r.body["id"], "name": "Theirs", "stamps_required": 1}});
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{store2}/rewards"),
        Some(&token2),
        Some("application/json"),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.body["id"].as_i64().unwrap();

    for id in [foreign, theirs, deleted, 999_999] {
        let r = cc.redeem(&app, id);
        assert_eq!(r.status, 404, "reward {id}: {}", r.text);
        assert_eq!(r.body["error"], "Reward not found", "{}", r.text);
    }
    assert_eq!(cc.count(&app), 10);
    assert_eq!(cc.ledger_rows(&app).len(), 1);
}

#[test]
fn redeem_without_a_reward_id_is_422() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let r = app.post(&cc.path(&app, "/redeem"), &json!({}));
    assert_eq!(r.status, 422, "{}", r.text);
    errors_of(&r, "reward_id");
}

// ---------------------------------------------------------------------------------
// Ledger
// ---------------------------------------------------------------------------------

#[test]
fn the_ledger_records_every_entry_newest_first() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({"initial_stamps": 2}));
    let coffee = reward(&app, card_id, "Free coffee", 4);
    let cc = enrol(&app, card_id);
    let second_token = app.token_for(&[app.store_id]);

    let r = app.post(
        &cc.path(&app, "/stamp"),
        &json!({"stamps": 5, "note": "double day", "skip_notifications": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.request(
        "POST",
        &cc.path(&app, "/stamp"),
        Some(&second_token),
        Some("application/json"),
        Some(r#"{"stamps": -1, "note": "oops"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(cc.redeem(&app, coffee).status, 200);

    let page = cc.events_page(&app, "");
    assert_eq!(sorted_keys(&page), ["events", "pagination"]);
    assert_eq!(
        page["pagination"],
        json!({"count": 4, "items": 25, "page": 1, "pages": 1})
    );
    let events = page["events"].as_array().unwrap();
    let summary: Vec<(String, i64, i64)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["stamps"].as_i64().unwrap(),
                e["balance_after"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("redemption".into(), -4, 2),
            ("adjustment".into(), -1, 6),
            ("stamp".into(), 5, 7),
            ("welcome_bonus".into(), 2, 2),
        ]
    );
    for e in events {
        assert_eq!(
            sorted_keys(e),
            [
                "balance_after",
                "created_at",
                "customer_card_id",
                "device_id",
                "id",
                "kind",
                "note",
                "reward_id",
                "reward_name",
                "skip_notifications",
                "staff_id",
                "staff_name",
                "stamps",
                "token_id"
            ]
        );
        assert_eq!(e["customer_card_id"], cc.id);
        assert_timestamp(&e["created_at"]);
    }
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let (red, adj, st) = (&events[0], &events[1], &events[2]);
    assert_eq!(red["reward_id"], coffee);
    assert_eq!(red["reward_name"], "Free coffee");
    assert_eq!(adj["note"], "oops");
    assert_eq!(adj["reward_id"], Value::Null);
    assert_eq!(st["note"], "double day");
    assert_eq!(st["skip_notifications"], true);
    assert_eq!(st["reward_id"], Value::Null);
    assert_eq!(st["reward_name"], Value::Null);

    // Which token did it.
    let first = token_id(&app, &app.token);
    let second = token_id(&app, &second_token);
    assert_eq!(st["token_id"], first);
    assert_eq!(adj["token_id"], second);
    assert_eq!(red["token_id"], first);

    // The sum of the deltas is the balance.
    let sum: i64 = events.iter().map(|e| e["stamps"].as_i64().unwrap()).sum();
    assert_eq!(sum, 2);
    assert_eq!(cc.count(&app), 2);
    assert_eq!(cc.db_count(&app), 2);
    assert_eq!(cc.ledger_rows(&app).len(), 4);
}

#[test]
fn the_ledger_is_paginated_like_the_customer_list() {
    let app = app_without_limits();
    let cc = enrol(&app, card(&app, 10, json!({})));
    for i in 1..=30 {
        let r = cc.stamp(&app, 1);
        assert_eq!(r.status, 200, "stamp {i}: {}", r.text);
    }

    let p1 = cc.events_page(&app, "");
    assert_eq!(
        p1["pagination"],
        json!({"count": 30, "items": 25, "page": 1, "pages": 2})
    );
    assert_eq!(p1["events"].as_array().unwrap().len(), 25);
    assert_eq!(p1["events"][0]["balance_after"], 30, "newest first");

    let p2 = cc.events_page(&app, "?page=2");
    assert_eq!(
        p2["pagination"],
        json!({"count": 30, "items": 25, "page": 2, "pages": 2})
    );
    let p2e = p2["events"].as_array().unwrap();
    assert_eq!(p2e.len(), 5);
    assert_eq!(p2e[4]["balance_after"], 1, "oldest last");

    let p = cc.events_page(&app, "?items=10&page=3");
    assert_eq!(
        p["pagination"],
        json!({"count": 30, "items": 10, "page": 3, "pages": 3})
    );
    let balances: Vec<i64> = p["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["balance_after"].as_i64().unwrap())
        .collect();
    assert_eq!(balances, (1..=10).rev().collect::<Vec<_>>());

    let past = cc.events_page(&app, "?page=9");
    assert_eq!(past["events"], json!([]));
    assert_eq!(
        past["pagination"],
        json!({"count": 30, "items": 25, "page": 9, "pages": 2})
    );

    let big = cc.events_page(&app, "?items=500");
    assert_eq!(big["pagination"]["items"], 100, "items is clamped to 100");
    assert_eq!(big["events"].as_array().unwrap().len(), 30);

    for q in ["?page=0", "?page=abc", "?items=0", "?items=-3"] {
        let r = app.get(&cc.path(&app, &format!("/events{q}")));
        assert_eq!(r.status, 422, "{q}: {}", r.text);
    }
}

#[test]
fn events_of_a_card_that_cannot_be_reached_are_404() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let r = app.get(&app.store_path(&format!(
        "/customers/{}/customer_cards/999999/events",
        cc.customer_id
    )));
    assert_eq!(r.status, 404, "{}", r.text);
    let (_, other) = app.new_store("Other");
    let r = app.request("GET", &cc.path(&app, "/events"), Some(&other), None, None);
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app.request("GET", &cc.path(&app, "/events"), None, None, None);
    assert_eq!(r.status, 401, "{}", r.text);
}

#[test]
fn a_welcome_bonus_is_the_first_ledger_entry() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({"initial_stamps": 3}));
    let cc = enrol(&app, card_id);
    assert_eq!(cc.count(&app), 3);
    let (events, count) = cc.all_events(&app);
    assert_eq!(count, 1);
    assert_eq!(events[0]["kind"], "welcome_bonus");
    assert_eq!(events[0]["stamps"], 3);
    assert_eq!(events[0]["balance_after"], 3);

    // No initial stamps, no welcome row.
    let cc0 = enrol(&app, card(&app, 10, json!({})));
    assert_eq!(cc0.all_events(&app).1, 0);
}
