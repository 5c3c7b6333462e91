//! `Idempotency-Key` on POST and PATCH: a repeat is answered from the stored response
//! (`Idempotent-Replayed: true`) without running again, for 24 hours, per token; a
//! repeat with a different body is 422; a bad key is 400.

use serde_json::{json, Value};

use crate::stamps::{card, enrol, reward, Enrolled};
use crate::support::app::*;

/// A JSON POST with an `Idempotency-Key`, as `token`.
fn post_keyed(app: &TestApp, token: &str, path: &str, body: &Value, key: &str) -> Resp {
    app.request_with_headers(
        "POST",
        path,
        Some(token),
        Some("application/json"),
        Some(&body.to_string()),
        &[("Idempotency-Key", key)],
    )
}

fn stamp_keyed(app: &TestApp, cc: &Enrolled, stamps: i64, key: &str) -> Resp {
    post_keyed(
        app,
        &app.token,
        &cc.path(app, "/stamp"),
        &json!({ "stamps": stamps }),
        key,
    )
}

fn replayed(r: &Resp) -> bool {
    r.header("Idempotent-Replayed") == Some("true")
}

#[test]
fn the_same_stamp_ten_times_gives_one_stamp_and_ten_identical_answers() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let cc = enrol(&app, card(&app, 10, json!({})));

    let answers: Vec<Resp> = (0..10)
        .map(|_| stamp_keyed(&app, &cc, 1, "tablet-7-stamp-0001"))
        .collect();
    let first = &answers[0];
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["stamps_count"], 1);
    assert!(
        !replayed(first),
        "the first request runs: {:?}",
        first.headers
    );
    for (i, r) in answers.iter().enumerate().skip(1) {
        assert_eq!(r.status, 200, "repeat {i}: {}", r.text);
        assert_eq!(r.text, first.text, "repeat {i} answers the same body");
        assert!(
            replayed(r),
            "repeat {i} is marked replayed: {:?}",
            r.headers
        );
    }
    assert_eq!(cc.count(&app), 1);
    assert_eq!(cc.ledger_rows(&app).len(), 1);
    assert_eq!(cc.all_events(&app).1, 1);

    // A new key is a new stamp.
    let r = stamp_keyed(&app, &cc, 1, "tablet-7-stamp-0002");
    assert_eq!(r.status, 200);
    assert!(!replayed(&r));
    assert_eq!(cc.count(&app), 2);
}

#[test]
fn replays_survive_a_server_restart() {
    let mut app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let cc = enrol(&app, card(&app, 10, json!({})));

    let mut answers = Vec::new();
    for i in 0..10 {
        if i == 5 {
            app.restart();
        }
        answers.push(stamp_keyed(&app, &cc, 2, "retry-across-restart"));
    }
    assert_eq!(answers[0].status, 200, "{}", answers[0].text);
    assert_eq!(answers[0].body["stamps_count"], 2);
    for (i, r) in answers.iter().enumerate().skip(1) {
        assert_eq!(r.status, 200, "send {i}: {}", r.text);
        assert_eq!(r.text, answers[0].text, "send {i}");
        assert!(replayed(r), "send {i}: {:?}", r.headers);
    }
    assert_eq!(cc.count(&app), 2);
    assert_eq!(cc.ledger_rows(&app).len(), 1);

    // A key used before the restart with a different body is still refused.
    let r = stamp_keyed(&app, &cc, 3, "retry-across-restart");
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(cc.count(&app), 2);
}

#[test]
fn the_same_key_with_a_different_body_is_422() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));

    let r = stamp_keyed(&app, &cc, 1, "k-1");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = stamp_keyed(&app, &cc, 2, "k-1");
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["error"].is_string(), "a JSON error: {}", r.text);
    assert!(!replayed(&r));
    let r = post_keyed(
        &app,
        &app.token,
        &cc.path(&app, "/stamp"),
        &json!({"stamps": 1, "note": "now with a note"}),
        "k-1",
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(cc.count(&app), 1, "neither different request ran");

    // The original request is still replayed.
    let r = stamp_keyed(&app, &cc, 1, "k-1");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(replayed(&r));
    assert_eq!(cc.count(&app), 1);
}

#[test]
fn keys_are_scoped_per_token() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let other = app.token_for(&[app.store_id]);
    let path = cc.path(&app, "/stamp");
    let body = json!({"stamps": 1});

    let a = post_keyed(&app, &app.token, &path, &body, "shared-key");
    assert_eq!(a.status, 200, "{}", a.text);
    let b = post_keyed(&app, &other, &path, &body, "shared-key");
    assert_eq!(b.status, 200, "{}", b.text);
    assert!(!replayed(&b), "another token's key runs anew");
    assert_eq!(b.body["stamps_count"], 2);
    assert_eq!(cc.count(&app), 2);

    // Each token's repeat is replayed from its own answer.
    let a2 = post_keyed(&app, &app.token, &path, &body, "shared-key");
    let b2 = post_keyed(&app, &other, &path, &body, "shared-key");
    assert!(replayed(&a2) && replayed(&b2));
    assert_eq!(a2.text, a.text);
    assert_eq!(b2.text, b.text);
    assert_eq!(cc.count(&app), 2);

    // A different body with the other token's key is that token's conflict only.
    let c = post_keyed(&app, &other, &path, &json!({"stamps": 5}), "shared-key");
    assert_eq!(c.status, 422, "{}", c.text);
    assert_eq!(cc.count(&app), 2);
}

#[test]
fn a_refusal_is_stored_and_replayed() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));

    let first = stamp_keyed(&app, &cc, -5, "correction-1");
    assert_eq!(first.status, 422, "{}", first.text);
    assert!(!replayed(&first));

    // The card now has enough stamps, but the keyed correction is not run again.
    assert_eq!(cc.stamp(&app, 6).status, 200);
    let again = stamp_keyed(&app, &cc, -5, "correction-1");
    assert_eq!(
        again.status, 422,
        "the stored 422 is replayed: {}",
        again.text
    );
    assert_eq!(again.text, first.text);
    assert!(replayed(&again), "{:?}", again.headers);
    assert_eq!(cc.count(&app), 6);
}

#[test]
fn a_key_must_be_1_to_255_characters() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));

    let r = stamp_keyed(&app, &cc, 1, &"k".repeat(256));
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["error"].is_string(), "a JSON error: {}", r.text);
    assert_eq!(cc.count(&app), 0, "a refused key runs nothing");

    let max = "k".repeat(255);
    let r = stamp_keyed(&app, &cc, 1, &max);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = stamp_keyed(&app, &cc, 1, &max);
    assert!(replayed(&r));
    assert_eq!(cc.count(&app), 1);
}

#[test]
fn a_repeated_redemption_spends_once() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let coffee = reward(&app, card_id, "Coffee", 3);
    let cc = enrol(&app, card_id);
    cc.stamp(&app, 7);

    let path = cc.path(&app, "/redeem");
    let body = json!({ "reward_id": coffee });
    let first = post_keyed(&app, &app.token, &path, &body, "redeem-42");
    assert_eq!(first.status, 200, "{}", first.text);
    for _ in 0..3 {
        let r = post_keyed(&app, &app.token, &path, &body, "redeem-42");
        assert_eq!(r.status, 200);
        assert_eq!(r.text, first.text);
        assert!(replayed(&r));
    }
    assert_eq!(cc.count(&app), 4);
    let redemptions = cc
        .ledger_rows(&app)
        .into_iter()
        .filter(|(k, _, _)| k == "redemption")
        .count();
    assert_eq!(redemptions, 1);
}

#[test]
fn a_repeated_create_makes_one_resource() {
    let app = spawn_app();
    let body = json!({"customer": {"first_name": "Kay", "email": "kay@example.com"}});
    let path = app.store_path("/customers");
    let first = post_keyed(&app, &app.token, &path, &body, "new-customer-kay");
    assert_eq!(first.status, 201, "{}", first.text);
    let again = post_keyed(&app, &app.token, &path, &body, "new-customer-kay");
    assert_eq!(
        again.status, 201,
        "the stored 201 is replayed: {}",
        again.text
    );
    assert_eq!(again.text, first.text);
    assert!(replayed(&again));
    let list = app.get(&path);
    assert_eq!(list.body["pagination"]["count"], 1, "{}", list.text);
}

#[test]
fn a_repeated_patch_is_replayed_without_running() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let id = reward(&app, card_id, "Coffee", 3);
    let path = app.store_path(&format!("/rewards/{id}"));
    let patch = |body: &Value, key: Option<&str>| {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        app.request_with_headers(
            "PATCH",
            &path,
            Some(&app.token),
            Some("application/json"),
            Some(&body.to_string()),
            &headers,
        )
    };
    let rename_a = json!({"reward": {"name": "A"}});
    let first = patch(&rename_a, Some("rename-a"));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["name"], "A");

    // Someone renames it since; the keyed repeat does not rename it back.
    assert_eq!(patch(&json!({"reward": {"name": "B"}}), None).status, 200);
    let again = patch(&rename_a, Some("rename-a"));
    assert_eq!(again.status, 200);
    assert!(replayed(&again));
    assert_eq!(again.text, first.text, "the stored answer");
    assert_eq!(app.get(&path).body["name"], "B", "not run again");
}

#[test]
fn keys_are_forgotten_after_24_hours() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    assert_eq!(stamp_keyed(&app, &cc, 1, "old-key").status, 200);
    assert!(replayed(&stamp_keyed(&app, &cc, 1, "old-key")));
    assert_eq!(cc.count(&app), 1);

    // Age the stored key past 24 hours.
    let aged = app
        .conn()
        .execute(
            "UPDATE idempotency_keys SET created_at = ?1",
            ["2000-01-01T00:00:00.000Z"],
        )
        .unwrap();
    assert_eq!(aged, 1);

    let r = stamp_keyed(&app, &cc, 1, "old-key");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!replayed(&r), "an expired key runs anew");
    assert_eq!(cc.count(&app), 2);
}

#[test]
fn requests_without_a_key_are_never_replayed() {
    let app = spawn_app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    for i in 1..=3 {
        let r = cc.stamp(&app, 1);
        assert_eq!(r.status, 200);
        assert!(!replayed(&r));
        assert_eq!(r.body["stamps_count"], i);
    }
}

/// The bytes of replies and keys the table holds, as stored.
fn stored_reply_bytes(app: &TestApp) -> usize {
    app.conn()
        .query_row(
            "SELECT coalesce(sum(length(CAST(body AS BLOB)) + length(CAST(key AS BLOB))), 0)
             FROM idempotency_keys",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize
}

#[test]
fn stored_replies_are_bounded_per_token() {
    const QUOTA_KIB: u64 = 256;
    let app = spawn_app_with(|s| {
        s.rate_limit_per_minute = 0;
        s.idempotency_quota_kib = QUOTA_KIB;
    });
    let cc = enrol(&app, card(&app, 10, json!({})));
    let stamp = stamp_keyed(&app, &cc, 1, "stamp-1");
    assert_eq!(stamp.status, 200, "{}", stamp.text);

    // What was found: keyed PATCHes of a few bytes each, every reply a whole customer
    // grown as large as it may be.
    let big = app.create_customer(json!({"customer": {
        "first_name": "Big", "email": "big@example.com",
        "metadata": {"notes": "x".repeat(16_000)},
    }}));
    let path = app.store_path(&format!("/customers/{}", big["id"]));
    let patch_keyed = |body: &Value, key: &str| {
        app.request_with_headers(
            "PATCH",
            &path,
            Some(&app.token),
            Some("application/json"),
            Some(&body.to_string()),
            &[("Idempotency-Key", key)],
        )
    };
    let rename = |i: usize| json!({"customer": {"last_name": format!("L{i}")}});
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for i in 0..40 {
        let r = patch_keyed(&rename(i), &format!("patch-{i}"));
        match r.status {
            200 => accepted.push((i, r)),
            429 => refused.push((i, r)),
            s => panic!("patch {i}: {s}"),
        }
    }
    assert!(
        !refused.is_empty(),
        "40 replies of 16 KB do not fit in {QUOTA_KIB} KiB"
    );
    assert!(accepted.len() >= 10, "{} accepted", accepted.len());
    let stored = stored_reply_bytes(&app);
    assert!(
        stored <= QUOTA_KIB as usize * 1024,
        "{stored} bytes stored for one token"
    );

    // A refusal says why and when to come back, and changed nothing.
    let (_, r) = &refused[0];
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{}",
        r.text
    );
    let retry: u64 = r.header("Retry-After").unwrap().parse().unwrap();
    assert!(
        (86_000..=86_400).contains(&retry),
        "when the oldest stored reply expires: {retry}"
    );
    let (last, _) = accepted.last().unwrap();
    assert_eq!(app.get(&path).body["last_name"], format!("L{last}"));
    let (i, _) = &refused[0];
    let r = patch_keyed(&rename(*i), &format!("patch-{i}"));
    assert_eq!(r.status, 429, "a refused key was not stored");

    // What was stored is still replayed byte for byte: the stamp and every PATCH.
    let again = stamp_keyed(&app, &cc, 1, "stamp-1");
    assert!(replayed(&again));
    assert_eq!(again.text, stamp.text);
    for (i, first) in &accepted {
        let again = patch_keyed(&rename(*i), &format!("patch-{i}"));
        assert!(replayed(&again), "patch {i}: {}", again.status);
        assert_eq!(again.text, first.text, "patch {i}");
    }
    assert_eq!(cc.count(&app), 1);

    // Requests without a key are not held back.
    let r = app.patch(&path, &json!({"customer": {"last_name": "Unkeyed"}}));
    assert_eq!(r.status, 200);

    // Once older replies expire, keyed requests are stored again.
    app.conn()
        .execute(
            "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
    let r = patch_keyed(&rename(99), "patch-after-expiry");
    assert_eq!(r.status, 200, "{}", r.status);
    assert!(
        stored_reply_bytes(&app) < 20_000,
        "the expired replies were forgotten"
    );
}
