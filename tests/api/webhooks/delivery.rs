//! Deliveries: signatures, both formats, each event's `data`, filtering, rotation,
//! `test`, retries with the same id, 410 and a run-out schedule disabling, the delivery
//! list and redeliver, rolled-back changes firing nothing.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;

const WAIT: Duration = Duration::from_secs(15);

/// Every event of the contract, enveloped and signed, with its `data`, in order.
#[test]
fn webhook_events_are_signed_enveloped_and_carry_their_data() {
    let (app, rx) = hooked(|_| {});
    let sub = subscribe_to(&app, &rx, json!(["*"]));
    let secret = sub["secret"].as_str().unwrap().to_string();
    let card =
        app.create_card(json!({"name": "Coffee", "stamps_required": 5, "initial_stamps": 2}));
    let reward = app.create_reward(card["id"].as_i64().unwrap(), "Free coffee", 3);
    let created = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "ann@example.com",
            "external_references": [{"source": "pos", "external_id": "A1"}]},
        "card_id": card["id"],
    }));
    let (customer, cc) = (
        created["id"].as_i64().unwrap(),
        created["customer_card"]["id"].as_i64().unwrap(),
    );
    let got = rx.wait_for(3, WAIT);
    assert_eq!(
        types(&got),
        ["customer.created", "customer_card.created", "stamp.earned"],
        "an enrolment with a welcome bonus"
    );
    let r = stamp(&app, customer, cc, 1);
    assert_eq!(r.status, 200, "{}", r.text);
    let got = rx.wait_for(5, WAIT);
    assert_eq!(types(&got)[3..], ["stamp.earned", "reward.unlocked"]);
    assert_eq!(stamp(&app, customer, cc, -1).status, 200);
    assert_eq!(stamp(&app, customer, cc, 1).status, 200);
    let r = app.post(
        &app.store_path(&format!("/customers/{customer}/customer_cards/{cc}/redeem")),
        &json!({"reward_id": reward["id"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.patch(
        &app.store_path(&format!("/customers/{customer}")),
        &json!({"customer": {"last_name": "Lee"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let got = rx.wait_for(10, WAIT);
    assert_eq!(
        types(&got),
        [
            "customer.created",
            "customer_card.created",
            "stamp.earned",
            "stamp.earned",
            "reward.unlocked",
            "stamp.removed",
            "stamp.earned",
            "reward.unlocked",
            "reward.redeemed",
            "customer.updated",
        ]
    );
    let mut ids = std::collections::HashSet::new();
    for r in &got {
        assert!(
            signed_by(&secret, r),
            "signature of {}",
            r.header("webhook-event")
        );
        assert_eq!(r.header("content-type"), "application/json");
        assert!(r.header("webhook-id").starts_with("evt_"));
        assert!(ids.insert(r.header("webhook-id").to_string()), "ids differ");
        let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((now - ts).abs() < 60, "unix seconds of the attempt: {ts}");
        let body = r.json();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["type", "timestamp", "data"], "the envelope");
        assert_eq!(body["type"], r.header("webhook-event"));
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(body["data"]["customer"]["id"], customer);
    }
    let data = |i: usize| got[i].json()["data"].clone();
    // customer.created shows the customer as the request left it.
    assert_eq!(
        data(0)["customer"]["external_references"][0]["external_id"],
        "A1"
    );
    assert_eq!(data(0).as_object().unwrap().len(), 1);
    assert_eq!(data(1)["customer_card"]["id"], cc);
    assert_eq!(data(2)["stamps"], 2);
    assert_eq!(data(2)["ledger_event"]["kind"], "welcome_bonus");
    assert_eq!(data(2)["customer_card"]["stamps_count"], 2);
    assert_eq!(data(3)["stamps"], 1);
    assert_eq!(data(3)["ledger_event"]["kind"], "stamp");
    assert_eq!(data(3)["ledger_event"]["balance_after"], 3);
    assert_eq!(
        data(3)["customer_card"]["stamps_count"],
        3,
        "after the change"
    );
    assert_eq!(data(4)["reward"]["id"], reward["id"]);
    assert_eq!(data(4)["customer_card"]["stamps_count"], 3);
    assert_eq!(data(5)["stamps"], -1);
    assert_eq!(data(5)["ledger_event"]["kind"], "adjustment");
    assert_eq!(data(5)["customer_card"]["stamps_count"], 2);
    let redeemed = data(8);
    assert_eq!(redeemed["reward"]["name"], "Free coffee");
    assert_eq!(redeemed["redemption"]["stamps_spent"], 3);
    assert_eq!(redeemed["redemption"]["stamps_remaining"], 0);
    assert_eq!(redeemed["redemption"]["reward_id"], reward["id"]);
    assert!(redeemed["redemption"]["id"].is_i64());
    assert!(redeemed["redemption"]["redeemed_at"].is_string());
    assert_eq!(redeemed["customer_card"]["stamps_count"], 0);
    assert_eq!(data(9)["customer"]["last_name"], "Lee");

    // The subscription shows how its last delivery went.
    eventually(WAIT, "the last delivery recorded", || {
        show(&app, &sub["id"])["last_delivery_status"] == 200
    });
    let s = show(&app, &sub["id"]);
    assert!(s["last_delivery_at"].is_string());
    assert!(s["last_delivery_error"].is_null());
}

/// `flat` sends `data` alone, with `webhook-event`; a subscription gets only its events.
#[test]
fn webhook_flat_payloads_and_event_filtering() {
    let (app, rx) = hooked(|_| {});
    let flat = subscribe(
        &app,
        json!({"target_url": rx.url("localhost", "/flat"), "event": "stamp.earned", "payload_format": "flat"}),
    );
    subscribe(
        &app,
        json!({"target_url": rx.url("localhost", "/removed"), "events": ["stamp.removed"]}),
    );
    let (customer, cc) = enrolled(&app, 0);
    assert_eq!(stamp(&app, customer, cc, 2).status, 200);
    assert_eq!(stamp(&app, customer, cc, -1).status, 200);
    let got = rx.wait_for(2, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    let got_all = rx.received();
    assert_eq!(
        got_all.len(),
        2,
        "only the subscribed events: {:?}",
        types(&got_all)
    );
    let f = got
        .iter()
        .find(|r| r.path == "/flat")
        .expect("the flat one");
    assert_eq!(f.header("webhook-event"), "stamp.earned");
    let body = f.json();
    assert_eq!(body["stamps"], 2, "data alone: {body}");
    assert!(body.get("type").is_none() && body.get("data").is_none());
    assert!(signed_by(flat["secret"].as_str().unwrap(), f));
    let e = got
        .iter()
        .find(|r| r.path == "/removed")
        .expect("the other one");
    assert_eq!(e.json()["type"], "stamp.removed");
}

/// After a rotation both secrets sign for 24 hours: two `v1,` entries.
#[test]
fn webhook_secret_rotation_signs_with_both_during_the_overlap() {
    let (app, rx) = hooked(|_| {});
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    let old = sub["secret"].as_str().unwrap().to_string();
    let r = app.post(
        &app.store_path(&format!(
            "/webhook_subscriptions/{}/rotate_secret",
            sub["id"]
        )),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(new.starts_with("whsec_"));
    assert_eq!(show(&app, &sub["id"])["secret"], new.as_str());
    let (customer, cc) = enrolled(&app, 0);
    stamp(&app, customer, cc, 1);
    let got = rx.wait_for(1, WAIT);
    let header = got[0].header("webhook-signature");
    assert_eq!(header.split(' ').count(), 2, "{header}");
    assert!(signed_by(&old, &got[0]) && signed_by(&new, &got[0]));
    // Once the overlap is over, the new one alone.
    app.conn()
        .execute(
            "UPDATE webhook_subscriptions SET previous_secret_expires_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
    stamp(&app, customer, cc, 1);
    let got = rx.wait_for(2, WAIT);
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 1);
    assert!(signed_by(&new, &got[1]) && !signed_by(&old, &got[1]));
}

/// `test` sends a signed `webhook.test` now and says how it went; it is not retried.
#[test]
fn webhook_test_event_is_sent_now_and_not_retried() {
    let (app, rx) = hooked(|_| {});
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    let path = app.store_path(&format!("/webhook_subscriptions/{}/test", sub["id"]));
    let r = app.post(&path, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["delivered"], true);
    assert_eq!(r.body["status"], 200);
    assert!(r.body["error"].is_null());
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("webhook-id"),
        r.body["event_id"].as_str().unwrap()
    );
    assert_eq!(got[0].json()["type"], "webhook.test");
    assert_eq!(
        got[0].json()["data"],
        json!({"webhook_subscription_id": sub["id"]})
    );
    assert!(signed_by(sub["secret"].as_str().unwrap(), &got[0]));

    rx.answer(&[500]);
    let r = app.post(&path, &json!({}));
    assert_eq!(r.body["delivered"], false, "{}", r.text);
    assert_eq!(r.body["status"], 500);
    assert!(r.body["error"].as_str().unwrap().contains("500"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.received().len(), 2, "not retried");
    assert_eq!(show(&app, &sub["id"])["enabled"], true);
}

/// A failed delivery is retried with the same `webhook-id`; each try is listed; a
/// delivery can be sent again by hand, with the same id.
#[test]
fn webhook_retries_keep_the_id_and_deliveries_are_listed_and_redelivered() {
    let (app, rx) = hooked(|_| {});
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    rx.answer(&[500, 503]);
    let (customer, cc) = enrolled(&app, 0);
    stamp(&app, customer, cc, 1);
    let got = rx.wait_for(3, WAIT);
    assert_eq!(got.len(), 3);
    let id = got[0].header("webhook-id");
    assert!(
        got.iter().all(|r| r.header("webhook-id") == id),
        "the same id"
    );
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body");
    let list_path = app.store_path(&format!("/webhook_subscriptions/{}/deliveries", sub["id"]));
    eventually(WAIT, "three tries listed", || {
        app.get_ok(&list_path)["pagination"]["count"] == 3
    });
    let page = app.get_ok(&format!("{list_path}?items=2"));
    assert_eq!(
        page["pagination"],
        json!({"count": 3, "items": 2, "page": 1, "pages": 2})
    );
    let d = &page["deliveries"];
    assert_eq!(d[0]["status"], 200, "newest first: {page}");
    assert_eq!(d[0]["attempt"], 3);
    assert_eq!(d[1]["status"], 503);
    assert!(d[1]["error"].as_str().unwrap().contains("503"));
    assert_eq!(d[0]["event_id"], id);
    assert_eq!(d[0]["event_type"], "stamp.earned");
    assert!(d[0]["duration_ms"].is_i64());
    assert_eq!(
        app.get_ok(&format!("{list_path}?items=2&page=2"))["deliveries"][0]["status"],
        500
    );
    assert_eq!(app.get(&format!("{list_path}?page=0")).status, 422);

    let r = app.post(&format!("{list_path}/{}/redeliver", d[0]["id"]), &json!({}));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["event_id"], id);
    let got = rx.wait_for(4, WAIT);
    assert_eq!(
        got[3].header("webhook-id"),
        id,
        "redelivered with the same id"
    );
    assert_eq!(
        app.post(&format!("{list_path}/999999/redeliver"), &json!({}))
            .status,
        404
    );
}

/// A 410 disables the subscription ("failing"): nothing more is queued for it until it
/// is enabled again.
#[test]
fn webhook_410_disables_and_nothing_is_queued_while_disabled() {
    let (app, rx) = hooked(|_| {});
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    rx.answer(&[410]);
    let (customer, cc) = enrolled(&app, 0);
    stamp(&app, customer, cc, 1);
    eventually(WAIT, "disabled", || {
        show(&app, &sub["id"])["enabled"] == false
    });
    let s = show(&app, &sub["id"]);
    assert_eq!(s["disabled_reason"], "failing");
    assert_eq!(s["last_delivery_status"], 410);
    stamp(&app, customer, cc, 1);
    stamp(&app, customer, cc, 1);
    assert_eq!(pending(&app), 0, "nothing queued while disabled");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.received().len(), 1);
    let r = app.patch(
        &app.store_path(&format!("/webhook_subscriptions/{}", sub["id"])),
        &json!({"enabled": true}),
    );
    assert!(r.body["disabled_reason"].is_null(), "{}", r.text);
    stamp(&app, customer, cc, 1);
    let got = rx.wait_for(2, WAIT);
    assert_eq!(got.len(), 2, "enabled again");
}

/// After the whole schedule fails the subscription is disabled as failing (the base
/// scaled down to fit a test).
#[test]
fn webhook_schedule_run_out_disables_the_subscription() {
    let (app, rx) = hooked(|s| s.webhook_retry_base_secs = 0.0001);
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    rx.answer(&[500; 40]);
    let (customer, cc) = enrolled(&app, 0);
    stamp(&app, customer, cc, 1);
    eventually(Duration::from_secs(30), "disabled", || {
        show(&app, &sub["id"])["enabled"] == false
    });
    assert_eq!(show(&app, &sub["id"])["disabled_reason"], "failing");
    let tries = rx.received().len();
    assert_eq!(
        tries, 12,
        "the first try and 11 retries within 3 days (scaled)"
    );
}

/// A deleted subscription's events are dropped; one disabled by hand keeps nothing
/// queued; a change that is rolled back fires nothing.
#[test]
fn webhook_events_of_deleted_disabled_and_rolled_back_changes_are_not_sent() {
    let (app, rx) = hooked(|_| {});
    rx.delay(Duration::from_millis(300));
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    let (customer, cc) = enrolled(&app, 0);
    for _ in 0..5 {
        stamp(&app, customer, cc, 1);
    }
    let r = app.patch(
        &app.store_path(&format!("/webhook_subscriptions/{}", sub["id"])),
        &json!({"enabled": false}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(pending(&app), 0, "queued events dropped on disabling");
    std::thread::sleep(Duration::from_millis(800));
    assert!(rx.received().len() < 5, "{}", rx.received().len());

    rx.delay(Duration::ZERO);
    let before = rx.received().len();
    let other = subscribe_to(&app, &rx, json!(["stamp.earned", "stamp.removed"]));
    let r = stamp(&app, customer, cc, -100);
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app.request_with_headers(
        "POST",
        &app.store_path(&format!("/customers/{customer}/customer_cards/{cc}/stamp")),
        Some(&app.token),
        Some("application/json"),
        Some(r#"{"stamps": -100}"#),
        &[("Idempotency-Key", "k-1")],
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(pending(&app), 0, "a refused stamp fires nothing");
    assert_eq!(
        app.delete(&app.store_path(&format!("/webhook_subscriptions/{}", other["id"])))
            .status,
        204
    );
    stamp(&app, customer, cc, 1);
    let n: i64 = app
        .conn()
        .query_row(
            "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND address = ?1",
            [other["id"].to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0, "a deleted subscription's events are gone");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.received().len(), before);
}

/// A slow receiver does not slow stamping, and at most the per-subscription cap of
/// deliveries are in flight to it; first tries of one customer go in commit order.
#[test]
fn webhook_slow_receivers_do_not_hold_up_stamps_and_lines_keep_order() {
    let (app, rx) = hooked(|s| s.webhook_concurrency_per_subscription = 2);
    rx.delay(Duration::from_millis(200));
    subscribe_to(&app, &rx, json!(["stamp.earned"]));
    let (customer, cc) = enrolled(&app, 0);
    let started = std::time::Instant::now();
    for _ in 0..10 {
        assert_eq!(stamp(&app, customer, cc, 1).status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "stamps waited for the receiver: {:?}",
        started.elapsed()
    );
    let got = rx.wait_for(10, Duration::from_secs(20));
    let counts: Vec<Value> = got
        .iter()
        .map(|r| r.json()["data"]["customer_card"]["stamps_count"].clone())
        .collect();
    assert_eq!(
        counts,
        (1..=10).map(Value::from).collect::<Vec<_>>(),
        "in commit order"
    );
    // One line at a time: each came after the one before was answered.
    for w in got.windows(2) {
        assert!(w[1].at.duration_since(w[0].at) >= Duration::from_millis(150));
    }
}
