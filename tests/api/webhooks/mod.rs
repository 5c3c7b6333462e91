//! Webhooks (API.md section 9) over real HTTP: the subscriptions' routes and rules,
//! deliveries to HTTPS receivers started by the test (their CA trusted through
//! `extra_ca_file`), signatures checked with an HMAC computed here, retries, disabling,
//! the private-target guard (names resolved by `pebble-challtestsrv`), a crash, and the
//! counter page's subscriptions screen.

mod crash;
mod delivery;
mod guard;
mod routes;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::app::{spawn_app_in, TestApp};
use crate::support::receiver::{Received, Receiver};
use crate::support::tls::TestCa;
use stampd::config::Settings;

/// A store with webhooks allowed to reach a receiver on this machine (private targets
/// allowed, the receiver's CA trusted, retries within milliseconds).
pub fn hooked(tweak: impl FnOnce(&mut Settings)) -> (TestApp, Receiver) {
    let ca = TestCa::new("webhook receivers' CA");
    let rx = Receiver::https(&ca, &["localhost"]);
    let app = spawn_app_in(|s, dir: &Path| {
        s.webhooks_allow_private_targets = true;
        s.extra_ca_file = Some(ca.write(&dir.join("receivers-ca.pem")));
        s.webhook_retry_base_secs = 0.001;
        tweak(s);
    });
    (app, rx)
}

/// Creates a subscription; its JSON (with the secret).
pub fn subscribe(app: &TestApp, body: Value) -> Value {
    let r = app.post(&app.store_path("/webhook_subscriptions"), &body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// A subscription of `events` to the receiver's `/hook`.
pub fn subscribe_to(app: &TestApp, rx: &Receiver, events: Value) -> Value {
    subscribe(
        app,
        json!({"target_url": rx.url("localhost", "/hook"), "events": events}),
    )
}

/// HMAC-SHA256 as RFC 2104 defines it, on SHA-256 alone (independent of stampd's).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The `v1,` signature `secret` gives a delivery.
pub fn expected_signature(secret: &str, r: &Received) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
        .expect("base64 secret");
    let mut signed = format!(
        "{}.{}.",
        r.header("webhook-id"),
        r.header("webhook-timestamp")
    )
    .into_bytes();
    signed.extend_from_slice(&r.body);
    format!("v1,{}", b64.encode(hmac_sha256(&key, &signed)))
}

/// Whether `secret` signed the delivery (one of its `v1,` entries).
pub fn signed_by(secret: &str, r: &Received) -> bool {
    let want = expected_signature(secret, r);
    r.header("webhook-signature").split(' ').any(|s| s == want)
}

/// A card (with `initial` welcome stamps) and a customer enrolled in it: (customer id,
/// customer card id).
pub fn enrolled(app: &TestApp, initial: i64) -> (i64, i64) {
    let card =
        app.create_card(json!({"name": "Coffee", "stamps_required": 5, "initial_stamps": initial}));
    let c = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": format!("ann{}@example.com", rand_suffix())},
        "card_id": card["id"],
    }));
    (
        c["id"].as_i64().unwrap(),
        c["customer_card"]["id"].as_i64().unwrap(),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

pub fn stamp(app: &TestApp, customer: i64, card: i64, stamps: i64) -> crate::support::app::Resp {
    app.post(
        &app.store_path(&format!(
            "/customers/{customer}/customer_cards/{card}/stamp"
        )),
        &json!({"stamps": stamps}),
    )
}

/// The event types of deliveries, in the order they came.
pub fn types(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.header("webhook-event").to_string())
        .collect()
}

/// Polls `f` until it holds (or fails after `within`).
pub fn eventually(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The subscription as the API shows it now.
pub fn show(app: &TestApp, id: &Value) -> Value {
    app.get_ok(&app.store_path(&format!("/webhook_subscriptions/{id}")))
}

/// How many webhook events are queued (pending) in the outbox.
pub fn pending(app: &TestApp) -> i64 {
    app.conn()
        .query_row(
            "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND status = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}
