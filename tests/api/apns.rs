//! Apple Wallet passes follow their changes: a push through APNs to every device that
//! registered a pass, against a local HTTP/2 TLS stand-in of APNs (`ApnsStandIn`) that
//! checks the client certificate (the test Pass Type ID chain), the topic, the path and
//! the body, and answers what each test asks.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stampd::config::Settings;

use crate::support::app::{fetch, spawn_app_with, TestApp};
use crate::support::apple_chain::{apple_chain, PASS_TYPE_ID};
use crate::support::binary::{self, Client, Env, Server};
use crate::support::wallet_stand_ins::{ApnsStandIn, Push};

/// How long a push may take to arrive (many tests run at once on two cores).
const PUSH_WITHIN: Duration = Duration::from_secs(20);

/// A server with Apple Wallet on, pushing to a stand-in of APNs that trusts its
/// certificate (and that it trusts through `extra_ca_file`).
struct Wallet {
    app: TestApp,
    apns: ApnsStandIn,
    /// The DER of the Pass Type ID certificate stampd must present.
    certificate: Vec<u8>,
    _certs: tempfile::TempDir,
}

fn wallet_with(tweak: impl FnOnce(&mut Settings)) -> Wallet {
    let certs = tempfile::tempdir().unwrap();
    let chain = apple_chain(certs.path());
    let apns = ApnsStandIn::start(certs.path(), &certs.path().join("root.pem"), PASS_TYPE_ID);
    let certificate = pem_der(&std::fs::read_to_string(&chain.certificate).unwrap());
    let (url, ca) = (apns.url.clone(), apns.ca_file.clone());
    let app = spawn_app_with(move |s| {
        s.apple = Some(chain);
        s.apns_base_url = Some(url);
        s.extra_ca_file = Some(ca);
        tweak(s);
    });
    Wallet {
        app,
        apns,
        certificate,
        _certs: certs,
    }
}

fn wallet() -> Wallet {
    wallet_with(|_| {})
}

/// The DER of the first certificate of a PEM text.
fn pem_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}

/// A customer card of a card template (a reward at 3 stamps).
struct Pass {
    customer_id: i64,
    id: i64,
    uuid: String,
    card_id: i64,
    auth_token: String,
}

impl Wallet {
    /// A card template with a reward, and `n` customers enrolled in it.
    fn passes(&self, n: usize) -> Vec<Pass> {
        let card = self
            .app
            .create_card(json!({"name": "Coffee", "stamps_required": 10}));
        let card_id = card["id"].as_i64().unwrap();
        self.app.create_reward(card_id, "Free coffee", 3);
        (0..n)
            .map(|i| {
                let c = self
                    .app
                    .enrol("Ann", "Lee", &format!("ann{i}@example.com"), card_id);
                let cc = &c["customer_card"];
                let id = cc["id"].as_i64().unwrap();
                let auth_token: String = self
                    .app
                    .conn()
                    .query_row(
                        "SELECT pass_auth_token FROM customer_cards WHERE id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .unwrap();
                Pass {
                    customer_id: c["id"].as_i64().unwrap(),
                    id,
                    uuid: cc["uuid"].as_str().unwrap().to_string(),
                    card_id,
                    auth_token,
                }
            })
            .collect()
    }

    /// Wallet registers `device` for the pass with `push_token`.
    fn register(&self, pass: &Pass, device: &str, push_token: &str) {
        let r = fetch(
            "POST",
            &format!(
                "{}/passes/v1/devices/{device}/registrations/{PASS_TYPE_ID}/{}",
                self.app.base, pass.uuid
            ),
            &[
                ("Authorization", &format!("ApplePass {}", pass.auth_token)),
                ("Content-Type", "application/json"),
            ],
            Some(json!({ "pushToken": push_token }).to_string().as_bytes()),
        );
        assert_eq!(r.status, 201, "register: {}", r.text);
    }

    fn card_path(&self, pass: &Pass, rest: &str) -> String {
        self.app.store_path(&format!(
            "/customers/{}/customer_cards/{}{rest}",
            pass.customer_id, pass.id
        ))
    }

    fn stamp_with(&self, pass: &Pass, body: Value) -> Value {
        self.app.post_ok(&self.card_path(pass, "/stamp"), body)
    }

    fn stamp(&self, pass: &Pass) -> Value {
        self.stamp_with(pass, json!({"stamps": 1}))
    }

    /// The pass as its customer card shows it now.
    fn card(&self, pass: &Pass) -> Value {
        self.app.get_ok(&self.card_path(pass, ""))
    }

    /// The store's APNs deliveries, newest first.
    fn deliveries(&self) -> Vec<Value> {
        self.app
            .get_ok(&self.app.store_path("/deliveries?channel=apns"))["deliveries"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The APNs channel as `/deliveries/channels` shows it.
    fn channel(&self) -> Value {
        let all = self
            .app
            .get_ok(&self.app.store_path("/deliveries/channels"));
        all["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == "apns")
            .cloned()
            .unwrap()
    }

    fn status(&self) -> String {
        let r = self.app.get_page("/api/v1/status", &[]);
        r.json()["channels"]["apns"].as_str().unwrap().to_string()
    }

    /// Waits until `check` holds of the API's view, or fails after `within`.
    fn until(&self, within: Duration, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + within;
        while !check() {
            assert!(Instant::now() < deadline, "{what}: not within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stays still for a moment, then fails if a push came beyond the `n` expected.
    fn no_more_pushes(&self, n: usize) {
        std::thread::sleep(Duration::from_millis(800));
        let pushes = self.apns.pushes();
        assert_eq!(pushes.len(), n, "{pushes:#?}");
        assert_eq!(self.apns.holding(), 0);
    }
}

/// What APNs checks of every push from stampd.
fn assert_well_formed(push: &Push, certificate: &[u8]) {
    assert_eq!(push.method, "POST");
    assert_eq!(push.path, format!("/3/device/{}", push.token));
    assert_eq!(push.topic.as_deref(), Some(PASS_TYPE_ID));
    assert_eq!(push.push_type.as_deref(), Some("background"));
    assert_eq!(push.priority.as_deref(), Some("5"));
    assert_eq!(push.body, b"{}");
    assert_eq!(
        push.client_certificate, certificate,
        "the Pass Type ID certificate"
    );
}

/// A stamp pushes once to each device of the pass and to no other; the device then
/// finds the pass among its updated ones and fetches it with the stamp and the notice.
#[test]
fn apns_a_stamp_pushes_once_to_each_registered_device() {
    let w = wallet();
    let passes = w.passes(2);
    let (ann, bob) = (&passes[0], &passes[1]);
    w.register(ann, "device-a", "aa01");
    w.register(ann, "device-b", "bb02");
    w.register(bob, "device-c", "cc03");
    assert!(w.apns.pushes().is_empty(), "registering pushes nothing");

    w.stamp(ann);
    let pushes = w.apns.wait_for(2, PUSH_WITHIN);
    let mut tokens: Vec<&str> = pushes.iter().map(|p| p.token.as_str()).collect();
    tokens.sort();
    assert_eq!(tokens, ["aa01", "bb02"]);
    for push in &pushes {
        assert_well_formed(push, &w.certificate);
        assert_eq!(push.status, 200);
    }
    w.no_more_pushes(2);

    // A push that went out is not kept (failed ones are, see below): nothing waits.
    w.until(PUSH_WITHIN, "nothing left to send", || {
        w.deliveries().is_empty()
    });
    assert_eq!(w.status(), "ok");
    let channel = w.channel();
    assert_eq!(
        (&channel["pending"], &channel["failed"]),
        (&json!(0), &json!(0))
    );

    // The device asks what changed, and fetches the pass as it is now.
    let r = fetch(
        "GET",
        &format!(
            "{}/passes/v1/devices/device-a/registrations/{PASS_TYPE_ID}",
            w.app.base
        ),
        &[],
        None,
    );
    assert_eq!(r.json()["serialNumbers"], json!([ann.uuid]));
    let r = fetch(
        "GET",
        &format!(
            "{}/passes/v1/passes/{PASS_TYPE_ID}/{}",
            w.app.base, ann.uuid
        ),
        &[("Authorization", &format!("ApplePass {}", ann.auth_token))],
        None,
    );
    assert_eq!(r.status, 200);
    let pass = pass_json(&r.bytes);
    let stamps = &pass["storeCard"]["primaryFields"][0];
    assert_eq!(stamps["value"], "1 / 10");
    assert_eq!(stamps["changeMessage"], "You have 1 of 10 stamps");

    // Bob's stamp goes to his device alone.
    w.stamp(bob);
    let pushes = w.apns.wait_for(3, PUSH_WITHIN);
    assert_eq!(pushes[2].token, "cc03");
    w.no_more_pushes(3);
}

/// Ten stamps while a push is in flight give one more push, not ten: changes merge
/// into the device's waiting push. And a burst of ten at once never gives ten.
#[test]
fn apns_ten_quick_stamps_are_coalesced() {
    let w = wallet();
    let passes = w.passes(1);
    let ann = &passes[0];
    w.register(ann, "device-a", "aa01");

    w.apns.hold();
    w.stamp(ann);
    w.until(PUSH_WITHIN, "the first push in flight", || {
        w.apns.holding() == 1
    });
    for _ in 0..9 {
        w.stamp(ann);
    }
    assert_eq!(
        w.apns.holding(),
        1,
        "no second push while the first is in flight"
    );
    let waiting = w.deliveries();
    assert_eq!(waiting.len(), 10, "a row per change, merged when sent");
    assert!(waiting.iter().all(|d| d["customer_id"] == ann.customer_id));
    w.apns.release();
    let pushes = w.apns.wait_for(2, PUSH_WITHIN);
    w.no_more_pushes(2);
    assert!(pushes.iter().all(|p| p.token == "aa01" && p.status == 200));
    assert_eq!(w.card(ann)["stamps_count"], 10);
    w.until(PUSH_WITHIN, "nothing left to send", || {
        w.deliveries().is_empty()
    });

    // Ten at once, from ten clients.
    let before = w.apns.pushes().len();
    std::thread::scope(|s| {
        for _ in 0..10 {
            s.spawn(|| w.stamp(ann));
        }
    });
    assert_eq!(w.card(ann)["stamps_count"], 20);
    w.until(PUSH_WITHIN, "a push after the burst", || {
        w.apns.pushes().len() > before
    });
    std::thread::sleep(Duration::from_millis(1500));
    let burst = w.apns.pushes().len() - before;
    assert!(burst < 10, "{burst} pushes for a burst of ten stamps");
}

/// A device APNs says is gone (410, or 400 BadDeviceToken) is unregistered: the pass is
/// no longer installed there, and it gets no more pushes.
#[test]
fn apns_a_device_answered_410_is_unregistered() {
    let w = wallet();
    let passes = w.passes(2);
    let (ann, bob) = (&passes[0], &passes[1]);
    w.register(ann, "device-a", "dead01");
    w.register(bob, "device-b", "bad002");
    w.apns.answer_token("dead01", 410, "Unregistered");
    w.apns.answer_token("bad002", 400, "BadDeviceToken");
    assert_eq!(w.card(ann)["pass_installed"], true);

    w.stamp(ann);
    w.stamp(bob);
    w.apns.wait_for(2, PUSH_WITHIN);
    for pass in [ann, bob] {
        w.until(PUSH_WITHIN, "the pass uninstalled", || {
            w.card(pass)["pass_installed"] == false
        });
    }
    let registrations: i64 = w
        .app
        .conn()
        .query_row("SELECT count(*) FROM pass_registrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(registrations, 0);
    // The deliveries are kept, failed, with what APNs said; the channel itself is fine.
    let deliveries = w.deliveries();
    assert_eq!(deliveries.len(), 2);
    let errors: Vec<&str> = deliveries
        .iter()
        .map(|d| {
            assert_eq!(d["status"], "failed");
            d["last_error"].as_str().unwrap()
        })
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("410 Unregistered")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("400 BadDeviceToken")),
        "{errors:?}"
    );
    assert_eq!(w.status(), "ok");

    w.stamp(ann);
    w.no_more_pushes(2);
}

/// A 500 is retried (with backoff) until APNs takes the push; meanwhile the delivery
/// waits with the error and the channel shows as degraded.
#[test]
fn apns_a_500_is_retried_until_it_goes_through() {
    let w = wallet_with(|s| s.push_retry_base_secs = 0);
    let passes = w.passes(1);
    let ann = &passes[0];
    w.register(ann, "device-a", "aa01");
    w.apns.answer_next(&[(500, "InternalServerError")]);

    w.stamp(ann);
    let first = w.apns.wait_for(1, PUSH_WITHIN);
    assert_eq!(first[0].status, 500);
    // Hold the retry, to look at the state between the two tries.
    w.apns.hold();
    w.until(PUSH_WITHIN, "the retry in flight", || w.apns.holding() == 1);
    assert_eq!(w.status(), "degraded");
    let channel = w.channel();
    assert_eq!(channel["pending"], 1, "{channel}");
    assert!(
        channel["last_error"]
            .as_str()
            .unwrap()
            .contains("500 InternalServerError"),
        "{channel}"
    );
    let deliveries = w.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:#?} {channel}");
    let waiting = &deliveries[0];
    assert_eq!(
        (&waiting["status"], &waiting["attempts"]),
        (&json!("pending"), &json!(1))
    );

    w.apns.release();
    let pushes = w.apns.wait_for(2, PUSH_WITHIN);
    assert_eq!(pushes[1].status, 200);
    w.until(PUSH_WITHIN, "the delivery sent", || {
        w.deliveries().is_empty()
    });
    assert_eq!(w.status(), "ok");
    assert_eq!(w.channel()["failed"], 0);
    w.no_more_pushes(2);
}

/// `skip_notifications` on a stamp or a redemption pushes nothing; the pass still shows
/// the change when Wallet next asks.
#[test]
fn apns_skip_notifications_sends_no_push() {
    let w = wallet();
    let passes = w.passes(1);
    let ann = &passes[0];
    w.register(ann, "device-a", "aa01");
    w.stamp_with(ann, json!({"stamps": 3, "skip_notifications": true}));
    let reward = w.card(ann)["available_rewards"][0]["id"].clone();
    let r = w.app.post_ok(
        &w.card_path(ann, "/redeem"),
        json!({"reward_id": reward, "skip_notifications": "1"}),
    );
    assert_eq!(r["success"], true);
    w.no_more_pushes(0);
    assert_eq!(w.card(ann)["stamps_count"], 0);

    // The sender was there all along: a stamp that may notify pushes.
    w.stamp(ann);
    w.apns.wait_for(1, PUSH_WITHIN);
    w.no_more_pushes(1);
}

/// Every change a pass shows pushes: the template's design or rewards, the store's
/// name, the customer's name; an unrelated change does not.
#[test]
fn apns_template_store_and_customer_changes_push() {
    let w = wallet();
    let passes = w.passes(1);
    let ann = &passes[0];
    w.register(ann, "device-a", "aa01");
    let mut expected = 0;
    let mut changes = vec![
        (
            "PATCH",
            w.app.store_path(&format!("/cards/{}", ann.card_id)),
            json!({"card": {"card_color": "#112233", "stamp_message": "{remaining} to go"}}),
        ),
        (
            "POST",
            w.app.store_path("/rewards"),
            json!({"reward": {"card_id": ann.card_id, "name": "Cake", "stamps_required": 8}}),
        ),
        (
            "PATCH",
            w.app.store_path(""),
            json!({"account": {"store_name": "Ann's Café"}}),
        ),
        (
            "PATCH",
            w.app.store_path(&format!("/customers/{}", ann.customer_id)),
            json!({"customer": {"first_name": "Annie"}}),
        ),
    ];
    for (method, path, body) in changes.drain(..) {
        let r = w.app.request(
            method,
            &path,
            Some(&w.app.token),
            Some("application/json"),
            Some(&body.to_string()),
        );
        assert!(r.status < 300, "{method} {path}: {}", r.text);
        expected += 1;
        w.apns.wait_for(expected, PUSH_WITHIN);
    }
    // An email change is not on the pass.
    let r = w.app.patch(
        &w.app.store_path(&format!("/customers/{}", ann.customer_id)),
        &json!({"customer": {"email": "annie@example.com"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    w.no_more_pushes(expected);

    // The shop's own wording is the notice.
    let r = fetch(
        "GET",
        &format!(
            "{}/passes/v1/passes/{PASS_TYPE_ID}/{}",
            w.app.base, ann.uuid
        ),
        &[("Authorization", &format!("ApplePass {}", ann.auth_token))],
        None,
    );
    let pass = pass_json(&r.bytes);
    assert_eq!(
        pass["storeCard"]["primaryFields"][0]["changeMessage"],
        "10 to go"
    );
}

/// A stamp answered before the server is killed, whose push had not gone out, is
/// pushed after the restart: the push was saved with the stamp.
#[test]
fn apns_a_push_survives_sigkill_before_it_goes_out() {
    let certs = tempfile::tempdir().unwrap();
    let chain = apple_chain(certs.path());
    let apns = ApnsStandIn::start(certs.path(), &certs.path().join("root.pem"), PASS_TYPE_ID);
    let path = |p: &std::path::Path| format!("{:?}", p.display().to_string());
    let env = Env::new(&[
        ("apple_pass_type_id", &format!("{PASS_TYPE_ID:?}")),
        ("apple_team_id", &format!("{:?}", chain.team_id)),
        ("apple_certificate", &path(&chain.certificate)),
        ("apple_private_key", &path(&chain.private_key)),
        ("apple_wwdr_certificate", &path(&chain.wwdr_certificate)),
        ("apns_base_url", &format!("{:?}", apns.url)),
        ("extra_ca_file", &path(&apns.ca_file)),
        ("push_retry_base_secs", "0"),
    ]);
    let store = env.create_store("Shop");
    let token = env.create_token(&[store], "test");
    let mut server = Server::start(&env);
    let client = Client::new(&server, &token, store);
    let card = client.create_card("Coffee");
    let (customer, cc) = client.enrol(card, "ann@example.com");
    let (uuid, auth): (String, String) = binary::open_db(&env.db)
        .query_row(
            "SELECT uuid, pass_auth_token FROM customer_cards WHERE id = ?1",
            [cc],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let r = binary::http(
        "POST",
        &server.url(&format!(
            "/passes/v1/devices/device-a/registrations/{PASS_TYPE_ID}/{uuid}"
        )),
        None,
        Some(&json!({"pushToken": "aa01"})),
    );
    assert_eq!(r.0, 401, "no pass token, no registration");
    let r = fetch(
        "POST",
        &server.url(&format!(
            "/passes/v1/devices/device-a/registrations/{PASS_TYPE_ID}/{uuid}"
        )),
        &[
            ("Authorization", &format!("ApplePass {auth}")),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"pushToken": "aa01"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    apns.hold();
    let r = client.post(
        &client.card_path(customer, cc, "/stamp"),
        &json!({"stamps": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = Instant::now() + PUSH_WITHIN;
    while apns.holding() == 0 {
        assert!(Instant::now() < deadline, "the push never left");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    let waiting: i64 = binary::open_db(&env.db)
        .query_row(
            "SELECT count(*) FROM outbox WHERE channel = 'apns' AND status = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(waiting, 1, "the push was saved with the stamp");
    // What was in flight when the server died reaches nobody.
    apns.release();
    let deadline = Instant::now() + PUSH_WITHIN;
    while apns.holding() > 0 || apns.pushes().len() != 1 {
        assert!(Instant::now() < deadline, "the held push was not let go");
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = 1;

    let server = Server::start(&env);
    let pushes = apns.wait_for(before + 1, PUSH_WITHIN);
    let after = pushes.last().unwrap();
    assert_eq!((after.token.as_str(), after.status), ("aa01", 200));
    let client = client.against(&server);
    let deadline = Instant::now() + PUSH_WITHIN;
    loop {
        let d = client
            .get(&client.store_path("/deliveries?channel=apns"))
            .body;
        if d["deliveries"].as_array().is_some_and(|d| d.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "never sent: {d}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `pass.json` of a .pkpass.
fn pass_json(pkpass: &[u8]) -> Value {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(pkpass)).expect("a zip");
    let mut file = archive.by_name("pass.json").expect("pass.json");
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}
