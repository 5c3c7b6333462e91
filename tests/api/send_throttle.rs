//! The card-link throttle: per customer and channel, one send every 10 minutes and 5 a
//! day. `POST .../send_card_links` answers 429 with the reason and `Retry-After` when
//! every channel is held back; a channel held back while another may go gets a
//! `suppressed` delivery with the reason, which the deliveries list shows. Messages are
//! delivered to the real SMTP server and SMS gateway of `deliveries`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::deliveries::{wait_for, Gateway, SmtpServer};
use crate::support::app::*;

fn shop() -> (SmtpServer, Gateway, TestApp, i64) {
    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });
    let card = app.create_card(json!({"name": "Coffee", "stamps_required": 8}))["id"]
        .as_i64()
        .unwrap();
    (smtp, gw, app, card)
}

fn resend_path(app: &TestApp, customer: i64) -> String {
    app.store_path(&format!("/customers/{customer}/send_card_links"))
}

fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&app.store_path(&format!("/deliveries?items=100{query}")));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["deliveries"].as_array().unwrap().clone()
}

/// Moves every delivery `minutes` into the past, as if sent that long ago.
fn age(app: &TestApp, minutes: i64) {
    app.conn()
        .execute(
            "UPDATE outbox SET created_at =
                strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?1 || ' minutes')",
            [-minutes],
        )
        .unwrap();
}

fn retry_after(r: &Resp) -> u64 {
    r.header("Retry-After")
        .unwrap_or_else(|| panic!("Retry-After: {:?}", r.headers))
        .parse()
        .unwrap()
}

/// 100 re-sends in a row: the first goes (one mail, one text), the other 99 are 429
/// with the reason, and nothing more is delivered.
#[test]
fn a_hundred_resends_deliver_one_message_per_channel() {
    let (smtp, gw, app, card) = shop();
    let created = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "ann@example.com", "phone": "(415) 555-0142"},
        "card_id": card,
    }));
    let id = created["id"].as_i64().unwrap();
    let path = resend_path(&app, id);

    let mut statuses = Vec::new();
    for n in 0..100 {
        let r = app.post(&path, &json!({}));
        if n > 0 {
            assert_eq!(r.status, 429, "re-send {n}: {}", r.text);
            let error = r.body["error"].as_str().unwrap_or_default();
            assert!(
                error.contains("email: sent") && error.contains("sms: sent"),
                "the reason names both channels: {error}"
            );
            assert!(error.contains("at most once every 10 minutes"), "{error}");
            let wait = retry_after(&r);
            assert!((590..=600).contains(&wait), "Retry-After {wait}");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses[0], 201);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 99);

    wait_for("the first send to arrive", || {
        (smtp.mails().len() == 1 && gw.requests().len() == 1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.mails().len(), 1, "one mail");
    assert_eq!(gw.requests().len(), 1, "one text");
    let listed = deliveries(&app, "");
    assert_eq!(
        listed.len(),
        2,
        "refused re-sends leave no rows: {listed:?}"
    );
    assert!(listed.iter().all(|d| d["status"] == "sent"), "{listed:?}");
}

/// A channel held back while the other may go: the one goes, the other is listed as
/// suppressed with its reason; the day's fifth send is the last.
#[test]
fn a_held_back_channel_is_listed_as_suppressed_and_five_a_day_is_the_cap() {
    let (smtp, gw, app, card) = shop();
    let created = app.create_customer(json!({
        "customer": {"first_name": "Bo", "email": "bo@example.com"},
        "card_id": card,
        "send_card_links": true,
    }));
    let id = created["id"].as_i64().unwrap();
    let cc = created["customer_card"]["id"].clone();

    // A phone is added: a re-send now texts, and holds the mail back.
    let r = app.patch(
        &app.store_path(&format!("/customers/{id}")),
        &json!({"customer": {"phone": "+1 415 555 0143"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.post(&resend_path(&app, id), &json!({}));
    assert_eq!(r.status, 201, "{}", r.text);
    let answered = r.body["deliveries"].as_array().unwrap().clone();
    let status_of = |ds: &[Value], channel: &str| -> Vec<String> {
        ds.iter()
            .filter(|d| d["channel"] == channel)
            .map(|d| d["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(status_of(&answered, "sms"), ["pending"]);
    assert_eq!(status_of(&answered, "email"), ["suppressed"]);
    let suppressed = deliveries(&app, "&status=suppressed");
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    let s = &suppressed[0];
    assert_eq!(s["channel"], "email");
    assert_eq!(s["address"], "bo@example.com");
    assert_eq!(s["customer_card_id"], cc);
    assert_eq!(s["attempts"], 0);
    assert_eq!(s["next_attempt_at"], Value::Null);
    let reason = s["last_error"].as_str().unwrap();
    assert!(
        reason.starts_with("email: sent") && reason.contains("at most once every 10 minutes"),
        "{reason}"
    );
    wait_for("the mail and the text", || {
        (smtp.mails().len() == 1 && gw.requests().len() == 1).then_some(())
    });

    // Sends 11 minutes apart: the fifth of the day by each channel goes, the one after
    // that is refused until the first is a day old.
    for n in 0..4 {
        age(&app, 11);
        let r = app.post(&resend_path(&app, id), &json!({}));
        assert_eq!(r.status, 201, "send {n}: {}", r.text);
    }
    age(&app, 11);
    let r = app.post(&resend_path(&app, id), &json!({}));
    assert_eq!(r.status, 429, "{}", r.text);
    let error = r.body["error"].as_str().unwrap_or_default();
    for channel in ["email", "sms"] {
        assert!(
            error.contains(&format!(
                "{channel}: 5 sends in the last 24 hours, at most 5 a day"
            )),
            "{error}"
        );
    }
    // The first sends were 55 minutes ago: a day less that.
    let wait = retry_after(&r);
    assert!(
        wait.abs_diff(24 * 3600 - 55 * 60) <= 5,
        "Retry-After {wait}"
    );

    wait_for("every send delivered", || {
        (smtp.mails().len() == 5 && gw.requests().len() == 5).then_some(())
    });
}

/// A refused re-send is not what its `Idempotency-Key` stands for: the same key, sent
/// again once the wait is over, runs.
#[test]
fn a_refused_resend_is_not_stored_under_its_idempotency_key() {
    let (_smtp, _gw, app, card) = shop();
    let created = app.create_customer(json!({
        "customer": {"first_name": "Cy", "email": "cy@example.com"},
        "card_id": card,
        "send_card_links": true,
    }));
    let id = created["id"].as_i64().unwrap();
    let keyed = || {
        app.request_with_headers(
            "POST",
            &resend_path(&app, id),
            Some(&app.token),
            Some("application/json"),
            Some("{}"),
            &[("Idempotency-Key", "resend-1")],
        )
    };
    let r = keyed();
    assert_eq!(r.status, 429, "{}", r.text);
    age(&app, 11);
    let r = keyed();
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("Idempotent-Replayed"), None);
    let r = keyed();
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("Idempotent-Replayed"), Some("true"));
}
