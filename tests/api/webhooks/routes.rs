//! The subscription routes and their rules.

use serde_json::json;

use super::{hooked, show, subscribe};
use crate::support::app::spawn_app;

#[test]
fn webhook_subscriptions_crud_secrets_and_other_stores() {
    let (app, rx) = hooked(|_| {});
    let url = rx.url("localhost", "/in");
    let s = subscribe(
        &app,
        json!({"target_url": url, "event": "stamp.earned", "description": "POS"}),
    );
    assert_eq!(s["events"], json!(["stamp.earned"]));
    assert_eq!(s["event"], "stamp.earned");
    assert_eq!(s["payload_format"], "envelope");
    assert_eq!(s["enabled"], true);
    for key in [
        "disabled_at",
        "disabled_reason",
        "last_delivery_at",
        "last_delivery_status",
        "last_delivery_error",
    ] {
        assert!(s[key].is_null(), "{key}: {s}");
    }
    let secret = s["secret"].as_str().unwrap();
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        secret.strip_prefix("whsec_").unwrap(),
    )
    .unwrap();
    assert!(raw.len() >= 24, "{secret}");
    let id = s["id"].clone();
    assert_eq!(show(&app, &id)["secret"], secret, "show has the secret");

    // A second one, under the root key, with every event.
    let all = subscribe(
        &app,
        json!({"webhook_subscription": {"target_url": url, "events": ["*"]}}),
    );
    assert!(all["event"].is_null());
    let list = app.get_ok(&app.store_path("/webhook_subscriptions"));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], id, "oldest first");
    assert!(
        list.iter().all(|s| s.get("secret").is_none()),
        "no secret in the list"
    );
    let only = app.get_ok(&app.store_path("/webhook_subscriptions?event=customer.created"));
    assert_eq!(only.as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only[0]["id"], all["id"]);
    let r = app.get(&app.store_path("/webhook_subscriptions?event=nope"));
    assert_eq!(r.status, 422, "{}", r.text);

    let path = app.store_path(&format!("/webhook_subscriptions/{id}"));
    let r = app.patch(
        &path,
        &json!({"events": ["stamp.earned", "stamp.removed"], "description": null}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["events"], json!(["stamp.earned", "stamp.removed"]));
    assert!(r.body["event"].is_null());
    assert!(r.body["description"].is_null());
    let r = app.put(&path, &json!({"enabled": false}));
    assert_eq!(r.body["enabled"], false, "{}", r.text);
    assert_eq!(r.body["disabled_reason"], "disabled_by_user");
    assert!(r.body["disabled_at"].is_string());
    let r = app.patch(&path, &json!({"enabled": true}));
    assert!(r.body["disabled_reason"].is_null(), "{}", r.text);
    assert!(r.body["disabled_at"].is_null());

    // Another store's token sees none of it.
    let (other, token) = app.new_store("Other");
    let foreign = app.request(
        "GET",
        &format!("/api/v1/accounts/{other}/webhook_subscriptions/{id}"),
        Some(&token),
        None,
        None,
    );
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    let mine_by_other = app.request(
        "GET",
        &format!(
            "/api/v1/accounts/{}/webhook_subscriptions/{id}",
            app.store_id
        ),
        Some(&token),
        None,
        None,
    );
    assert_eq!(mine_by_other.status, 404);
    for (method, rest) in [
        ("DELETE", ""),
        ("POST", "/rotate_secret"),
        ("POST", "/test"),
        ("GET", "/deliveries"),
    ] {
        let r = app.request(
            method,
            &format!("/api/v1/accounts/{other}/webhook_subscriptions/{id}{rest}"),
            Some(&token),
            None,
            None,
        );
        assert_eq!(r.status, 404, "{method} {rest}: {}", r.text);
    }

    assert_eq!(app.delete(&path).status, 204);
    assert_eq!(app.get(&path).status, 404);
    assert_eq!(app.delete(&path).status, 404);
}

#[test]
fn webhook_subscription_bodies_are_checked() {
    let (app, rx) = hooked(|_| {});
    let url = rx.url("localhost", "/in");
    let path = app.store_path("/webhook_subscriptions");
    let cases = [
        (json!({"events": ["*"]}), "target_url"),
        (
            json!({"target_url": "not a url", "events": ["*"]}),
            "target_url",
        ),
        (
            json!({"target_url": "ftp://example.com/", "events": ["*"]}),
            "target_url",
        ),
        (
            json!({"target_url": format!("https://example.com/{}", "a".repeat(2048)), "events": ["*"]}),
            "target_url",
        ),
        (json!({"target_url": url}), "events"),
        (json!({"target_url": url, "events": []}), "events"),
        (
            json!({"target_url": url, "events": ["stamp.eaten"]}),
            "events",
        ),
        (json!({"target_url": url, "event": "stamp.eaten"}), "event"),
        (
            json!({"target_url": url, "event": "stamp.earned", "events": ["*"]}),
            "event",
        ),
        (
            json!({"target_url": url, "events": ["*"], "payload_format": "flat"}),
            "payload_format",
        ),
        (
            json!({"target_url": url, "events": ["*"], "payload_format": "xml"}),
            "payload_format",
        ),
        (
            json!({"target_url": url, "events": ["*"], "description": "d".repeat(256)}),
            "description",
        ),
        (
            json!({"target_url": url, "events": ["*"], "enabled": "maybe"}),
            "enabled",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&path, &body);
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert!(r.body["errors"][field].is_array(), "{body}: {}", r.text);
    }
    // An update is checked against what is stored: flat cannot go with "*".
    let s = subscribe(&app, json!({"target_url": url, "events": ["*"]}));
    let one = app.store_path(&format!("/webhook_subscriptions/{}", s["id"]));
    let r = app.patch(&one, &json!({"payload_format": "flat"}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["errors"]["payload_format"].is_array());
    // A form body works too.
    let r = app.post_form(
        &path,
        &format!(
            "target_url={}&events[]=stamp.earned&events[]=reward.redeemed&payload_format=flat",
            form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["events"], json!(["stamp.earned", "reward.redeemed"]));
}

#[test]
fn webhook_plain_http_is_refused_by_default() {
    let app = spawn_app();
    let r = app.post(
        &app.store_path("/webhook_subscriptions"),
        &json!({"target_url": "http://hooks.example.com/in", "events": ["*"]}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["errors"]["target_url"].is_array());
}
