//! Google Wallet cards follow their changes: stampd keeps the loyalty class and objects
//! current through the Wallet REST API, against a local stand-in of Google's token
//! endpoint (which verifies the service account's JWT assertion with the key's public
//! half) and Wallet API (which holds what is written and answers 404 for the rest).

use std::time::Duration;

use serde_json::{json, Value};
use stampd::config::Settings;

use crate::support::app::{spawn_app_with, TestApp};
use crate::support::wallet_stand_ins::{
    google_service_account, GoogleCall, GoogleStandIn, GOOGLE_ISSUER_ID,
};

/// How long an update may take to arrive (many tests run at once on two cores).
const WITHIN: Duration = Duration::from_secs(20);

struct Wallet {
    app: TestApp,
    google: GoogleStandIn,
    _keys: tempfile::TempDir,
}

fn wallet_with(tweak: impl FnOnce(&mut Settings)) -> Wallet {
    let keys = tempfile::tempdir().unwrap();
    let (account, public_key) = google_service_account(keys.path());
    let google = GoogleStandIn::start(&public_key);
    let (token_url, api_url) = (google.token_url.clone(), google.api_url.clone());
    let app = spawn_app_with(move |s| {
        s.google = Some(account);
        s.google_token_url = token_url;
        s.google_api_url = api_url;
        tweak(s);
    });
    Wallet {
        app,
        google,
        _keys: keys,
    }
}

fn wallet() -> Wallet {
    wallet_with(|_| {})
}

/// A customer card: its path and Google ids.
struct Card {
    path: String,
    uuid: String,
    card_id: i64,
    object_id: String,
    class_id: String,
}

impl Wallet {
    /// A card template with a reward at 3 stamps, and Ann enrolled in it.
    fn card(&self) -> Card {
        let card = self
            .app
            .create_card(json!({"name": "Coffee", "stamps_required": 10}));
        let card_id = card["id"].as_i64().unwrap();
        self.app.create_reward(card_id, "Free coffee", 3);
        let c = self.app.enrol("Ann", "Lee", "ann@example.com", card_id);
        let cc = &c["customer_card"];
        let uuid = cc["uuid"].as_str().unwrap().to_string();
        Card {
            path: self.app.store_path(&format!(
                "/customers/{}/customer_cards/{}",
                c["id"], cc["id"]
            )),
            object_id: format!("{GOOGLE_ISSUER_ID}.{uuid}"),
            class_id: format!("{GOOGLE_ISSUER_ID}.stampd-{}-{card_id}", self.app.store_id),
            uuid,
            card_id,
        }
    }

    fn stamp(&self, card: &Card, body: Value) {
        self.app.post_ok(&format!("{}/stamp", card.path), body);
    }

    /// Waits for a successful call `method path` whose body satisfies `check`; all
    /// calls so far.
    fn wait_for(
        &self,
        method: &str,
        path: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Vec<GoogleCall> {
        self.google.wait_until(WITHIN, |calls| {
            calls
                .iter()
                .any(|c| c.method == method && c.path == path && c.status == 200 && check(&c.body))
        })
    }

    /// The calls `method path` so far.
    fn calls(&self, method: &str, path: &str) -> Vec<GoogleCall> {
        self.google
            .calls()
            .into_iter()
            .filter(|c| c.method == method && c.path == path)
            .collect()
    }
}

fn balance(object: &Value) -> i64 {
    object["loyaltyPoints"]["balance"]["int"]
        .as_i64()
        .unwrap_or(-1)
}

/// A stamp patches the object's balance; Google does not know it yet (404), so it is
/// inserted, after its class. A reward becoming affordable adds a message that
/// notifies; a redemption patches the balance again. One access token serves it all.
#[test]
fn google_wallet_stamps_and_redemptions_patch_the_object() {
    let w = wallet();
    let card = w.card();
    assert!(w.google.calls().is_empty(), "an enrolment writes nothing");

    w.stamp(&card, json!({"stamps": 1}));
    let object_path = format!("loyaltyObject/{}", card.object_id);
    let calls = w.wait_for("POST", "loyaltyObject", |b| balance(b) == 1);
    let order: Vec<(String, String, u16)> = calls
        .iter()
        .map(|c| (c.method.clone(), c.path.clone(), c.status))
        .collect();
    let class_path = format!("loyaltyClass/{}", card.class_id);
    assert_eq!(
        order,
        [
            ("PATCH".into(), object_path.clone(), 404),
            ("POST".into(), "loyaltyObject".into(), 404),
            ("PATCH".into(), class_path.clone(), 404),
            ("POST".into(), "loyaltyClass".into(), 200),
            ("POST".into(), "loyaltyObject".into(), 200),
        ]
    );
    let object = w
        .google
        .object(&card.object_id)
        .expect("the object inserted");
    assert_eq!(object["classId"], card.class_id.as_str());
    assert_eq!(object["barcode"]["type"], "QR_CODE");
    assert_eq!(object["state"], "ACTIVE");
    assert_eq!(object["accountName"], "Ann Lee");
    assert_eq!(
        w.google.class(&card.class_id).unwrap()["programName"],
        "Coffee"
    );

    // Two more pay for the reward: the balance, and a message that notifies.
    w.stamp(&card, json!({"stamps": 2}));
    w.wait_for("PATCH", &object_path, |b| balance(b) == 3);
    let message_path = format!("{object_path}/addMessage");
    w.wait_for("POST", &message_path, |_| true);
    let message = &w.calls("POST", &message_path)[0].body["message"];
    assert_eq!(message["messageType"], "TEXT_AND_NOTIFY");
    assert_eq!(message["header"], "Free coffee is ready");
    let patched = w.calls("PATCH", &object_path);
    let rewards = patched.last().unwrap().body["textModulesData"].clone();
    assert!(rewards.to_string().contains("Free coffee"), "{rewards}");

    // Redeeming takes the stamps back off.
    let reward = w.app.get_ok(&card.path)["available_rewards"][0]["id"].clone();
    w.app.post_ok(
        &format!("{}/redeem", card.path),
        json!({"reward_id": reward}),
    );
    w.wait_for("PATCH", &object_path, |b| balance(b) == 0);
    assert_eq!(balance(&w.google.object(&card.object_id).unwrap()), 0);

    let (requests, refused) = w.google.token_requests();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(requests, 1, "the token is kept until it expires");
    let channels = w.app.get_ok(&w.app.store_path("/deliveries/channels"));
    let google = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "google")
        .unwrap()
        .clone();
    assert_eq!(google["configured"], true);
    assert_eq!(google["failed"], 0);
}

/// An object Google answers 404 for (the stand-in forgot it) is inserted again; a
/// failing call (500) is retried.
#[test]
fn google_wallet_a_404_leads_to_an_insert_and_a_500_to_a_retry() {
    let w = wallet_with(|s| s.push_retry_base_secs = 0);
    let card = w.card();
    w.stamp(&card, json!({"stamps": 1}));
    w.wait_for("POST", "loyaltyObject", |b| balance(b) == 1);

    w.google.forget_object(&card.object_id);
    w.stamp(&card, json!({"stamps": 1}));
    w.wait_for("POST", "loyaltyObject", |b| balance(b) == 2);
    assert_eq!(balance(&w.google.object(&card.object_id).unwrap()), 2);

    w.google.answer_next(&[500]);
    w.stamp(&card, json!({"stamps": 1}));
    let object_path = format!("loyaltyObject/{}", card.object_id);
    let calls = w.wait_for("PATCH", &object_path, |b| balance(b) == 3);
    let last_two: Vec<u16> = calls
        .iter()
        .filter(|c| c.path == object_path)
        .rev()
        .take(2)
        .map(|c| c.status)
        .collect();
    assert_eq!(last_two, [200, 500], "the 500, then its retry");
}

/// A change of the card template patches its class (and its objects); a change of the
/// store's name patches the class.
#[test]
fn google_wallet_a_template_change_patches_the_class() {
    let w = wallet();
    let card = w.card();
    w.stamp(&card, json!({"stamps": 1}));
    w.wait_for("POST", "loyaltyObject", |_| true);

    let r = w.app.patch(
        &w.app.store_path(&format!("/cards/{}", card.card_id)),
        &json!({"card": {"name": "Coffee Club", "card_color": "#112233"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let class_path = format!("loyaltyClass/{}", card.class_id);
    w.wait_for("PATCH", &class_path, |b| {
        b["programName"] == "Coffee Club" && b["hexBackgroundColor"] == "#112233"
    });
    assert_eq!(
        w.google.class(&card.class_id).unwrap()["programName"],
        "Coffee Club"
    );

    let r = w.app.patch(
        &w.app.store_path(""),
        &json!({"account": {"store_name": "Ann's Café"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    w.wait_for("PATCH", &class_path, |b| b["issuerName"] == "Ann's Café");

    // Archiving the template makes its objects inactive.
    let r = w.app.patch(
        &w.app.store_path(&format!("/cards/{}", card.card_id)),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    w.wait_for("PATCH", &format!("loyaltyObject/{}", card.object_id), |b| {
        b["state"] == "INACTIVE"
    });
    assert!(!card.uuid.is_empty());
}

/// `skip_notifications` still updates the object but adds no message; past Google's
/// three notifying messages a day, a message is added without notifying.
#[test]
fn google_wallet_messages_notify_three_times_a_day_and_never_when_skipped() {
    let w = wallet();
    let card = w.card();
    let object_path = format!("loyaltyObject/{}", card.object_id);
    let message_path = format!("{object_path}/addMessage");

    w.stamp(&card, json!({"stamps": 3, "skip_notifications": true}));
    w.wait_for("POST", "loyaltyObject", |b| balance(b) == 3);
    let reward = w.app.get_ok(&card.path)["available_rewards"][0]["id"].clone();
    let redeem = || {
        w.app.post_ok(
            &format!("{}/redeem", card.path),
            json!({"reward_id": reward}),
        );
    };
    redeem();
    w.wait_for("PATCH", &object_path, |b| balance(b) == 0);
    assert!(w.calls("POST", &message_path).is_empty(), "skipped");

    for n in 1..=4 {
        w.stamp(&card, json!({"stamps": 3}));
        w.google.wait_until(WITHIN, |calls| {
            calls
                .iter()
                .filter(|c| c.path == message_path && c.status == 200)
                .count()
                == n
        });
        redeem();
    }
    let kinds: Vec<String> = w
        .calls("POST", &message_path)
        .iter()
        .map(|c| {
            c.body["message"]["messageType"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "TEXT_AND_NOTIFY",
            "TEXT_AND_NOTIFY",
            "TEXT_AND_NOTIFY",
            "TEXT"
        ]
    );
}
