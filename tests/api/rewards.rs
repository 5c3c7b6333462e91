//! Rewards (`/accounts/:account_id/rewards`): create, show, update, delete, list filters,
//! validations, store isolation, and the counts that follow them (`rewards_count`,
//! `available_rewards`).

use serde_json::{json, Value};

use crate::stamps::{assert_timestamp, card, enrol, reward};
use crate::support::app::*;

fn rewards_path(app: &TestApp) -> String {
    app.store_path("/rewards")
}

fn reward_path(app: &TestApp, id: i64) -> String {
    app.store_path(&format!("/rewards/{id}"))
}

fn delete(app: &TestApp, path: &str) -> Resp {
    app.request("DELETE", path, Some(&app.token), None, None)
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

fn card_json(app: &TestApp, card_id: i64) -> Value {
    let r = app.get(&app.store_path(&format!("/cards/{card_id}")));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[test]
fn create_answers_201_with_the_reward() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let r = app.post(
        &rewards_path(&app),
        &json!({"reward": {"card_id": card_id, "name": "Free coffee", "stamps_required": 8}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let b = &r.body;
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account_id",
            "active",
            "card_id",
            "created_at",
            "description",
            "id",
            "name",
            "position",
            "stamps_required",
            "updated_at"
        ]
    );
    assert!(b["id"].is_i64());
    assert_eq!(b["account_id"], app.store_id);
    assert_eq!(b["card_id"], card_id);
    assert_eq!(b["name"], "Free coffee");
    assert_eq!(b["stamps_required"], 8);
    assert_eq!(b["active"], true, "active defaults to true");
    assert_eq!(
        b["description"],
        Value::Null,
        "unset optional fields are null"
    );
    assert!(b["position"].is_i64());
    assert_timestamp(&b["created_at"]);
    assert_timestamp(&b["updated_at"]);

    let id = b["id"].as_i64().unwrap();
    let shown = app.get(&reward_path(&app, id));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(&shown.body, b);

    // Every attribute.
    let r = app.post(
        &rewards_path(&app),
        &json!({"reward": {"card_id": card_id, "name": "Cake", "description": "Any slice",
                           "stamps_required": 10, "position": 2, "active": false}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["description"], "Any slice");
    assert_eq!(r.body["position"], 2);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["stamps_required"], 10);
}

#[test]
fn create_from_a_rails_form_body() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let r = app.post_form(
        &rewards_path(&app),
        &format!(
            "reward[card_id]={card_id}&reward[name]=Tea&reward[stamps_required]=3&reward[active]=0"
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["card_id"], card_id);
    assert_eq!(r.body["name"], "Tea");
    assert_eq!(r.body["stamps_required"], 3);
    assert_eq!(r.body["active"], false);
}

#[test]
fn create_requires_card_id_name_and_stamps_required() {
    let app = spawn_app();
    let r = app.post(&rewards_path(&app), &json!({"reward": {}}));
    assert_eq!(r.status, 422, "{}", r.text);
    for f in ["card_id", "name", "stamps_required"] {
        assert_eq!(
            r.body["errors"][f],
            json!(["can't be blank"]),
            "{f}: {}",
            r.text
        );
    }

    let card_id = card(&app, 10, json!({}));
    let r = app.post(
        &rewards_path(&app),
        &json!({"reward": {"card_id": card_id, "name": "  ", "stamps_required": 2}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"]["name"],
        json!(["can't be blank"]),
        "{}",
        r.text
    );
    assert_eq!(app.get(&rewards_path(&app)).body, json!([]));
}

#[test]
fn a_card_of_another_store_or_no_card_is_404_card_not_found() {
    let app = spawn_app();
    let (store2, token2) = app.new_store("Other");
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{store2}/cards"),
        Some(&token2),
        Some("application/json"),
        Some(r#"{"card": {"name": "Theirs"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.body["id"].as_i64().unwrap();

    for card_id in [theirs, 999_999] {
        let r = app.post(
            &rewards_path(&app),
            &json!({"reward": {"card_id": card_id, "name": "X", "stamps_required": 1}}),
        );
        assert_eq!(r.status, 404, "card {card_id}: {}", r.text);
        assert_eq!(r.body, json!({"error": "Card not found"}), "{}", r.text);
    }
    assert_eq!(app.get(&rewards_path(&app)).body, json!([]));
}

#[test]
fn stamps_required_is_from_1_to_the_cards() {
    let app = spawn_app();
    let card_id = card(&app, 8, json!({}));
    for n in [0, -1, 9, 100] {
        let r = app.post(
            &rewards_path(&app),
            &json!({"reward": {"card_id": card_id, "name": "X", "stamps_required": n}}),
        );
        assert_eq!(r.status, 422, "stamps_required {n}: {}", r.text);
        assert!(r.body["errors"]["stamps_required"].is_array(), "{}", r.text);
    }
    let r = app.post(
        &rewards_path(&app),
        &json!({"reward": {"card_id": card_id, "name": "X", "stamps_required": "many"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    for n in [1, 8] {
        let r = app.post(
            &rewards_path(&app),
            &json!({"reward": {"card_id": card_id, "name": "X", "stamps_required": n}}),
        );
        assert_eq!(r.status, 201, "stamps_required {n}: {}", r.text);
    }
    // The same bounds on update.
    let id = reward(&app, card_id, "Y", 4);
    for n in [0, 9] {
        let r = app.patch(
            &reward_path(&app, id),
            &json!({"reward": {"stamps_required": n}}),
        );
        assert_eq!(r.status, 422, "stamps_required {n}: {}", r.text);
        assert!(r.body["errors"]["stamps_required"].is_array(), "{}", r.text);
    }
    assert_eq!(app.get(&reward_path(&app, id)).body["stamps_required"], 4);
}

#[test]
fn update_changes_only_given_fields() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let id = reward(&app, card_id, "Coffee", 5);
    let before = app.get(&reward_path(&app, id)).body;

    let r = app.patch(
        &reward_path(&app, id),
        &json!({"reward": {"name": "Big coffee", "stamps_required": 7, "description": "Any size"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Big coffee");
    assert_eq!(r.body["stamps_required"], 7);
    assert_eq!(r.body["description"], "Any size");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["card_id"], card_id);
    assert_eq!(r.body["created_at"], before["created_at"]);

    let r = app.patch(
        &reward_path(&app, id),
        &json!({"reward": {"active": false}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["name"], "Big coffee");

    let r = app.put(
        &reward_path(&app, id),
        &json!({"reward": {"description": null}}),
    );
    assert_eq!(r.status, 200, "PUT is accepted too: {}", r.text);
    assert_eq!(r.body["description"], Value::Null);

    // Persisted.
    let shown = app.get(&reward_path(&app, id)).body;
    assert_eq!(shown["name"], "Big coffee");
    assert_eq!(shown["active"], false);
    assert_eq!(shown["stamps_required"], 7);
}

#[test]
fn card_id_never_changes() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let other = card(&app, 10, json!({}));
    let id = reward(&app, card_id, "Coffee", 5);

    let r = app.patch(
        &reward_path(&app, id),
        &json!({"reward": {"card_id": other, "name": "Moved"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["errors"]["card_id"],
        json!(["can't be changed"]),
        "{}",
        r.text
    );
    let shown = app.get(&reward_path(&app, id)).body;
    assert_eq!(shown["card_id"], card_id);
    assert_eq!(shown["name"], "Coffee", "a refused update changes nothing");

    // Sending the same card_id is fine.
    let r = app.patch(
        &reward_path(&app, id),
        &json!({"reward": {"card_id": card_id, "name": "Same card"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Same card");
}

#[test]
fn delete_answers_204_and_the_reward_is_gone() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let id = reward(&app, card_id, "Coffee", 5);
    let keep = reward(&app, card_id, "Tea", 3);

    let r = delete(&app, &reward_path(&app, id));
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty(), "204 has no body: {:?}", r.text);

    let r = app.get(&reward_path(&app, id));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body, json!({"error": "Reward not found"}));
    assert_eq!(delete(&app, &reward_path(&app, id)).status, 404);
    let r = app.patch(&reward_path(&app, id), &json!({"reward": {"name": "Back"}}));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(ids(&app.get(&rewards_path(&app)).body), vec![keep]);
}

#[test]
fn unknown_and_foreign_rewards_are_404() {
    let app = spawn_app();
    let (store2, token2) = app.new_store("Other");
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{store2}/cards"),
        Some(&token2),
        Some("application/json"),
        Some(r#"{"card": {"name": "Theirs"}}"#),
    );
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

    // Their reward under our store, and an unknown or non-integer id.
    for p in [
        reward_path(&app, theirs),
        reward_path(&app, 999_999),
        app.store_path("/rewards/abc"),
    ] {
        assert_eq!(app.get(&p).status, 404, "GET {p}");
        assert_eq!(
            app.patch(&p, &json!({"reward": {"name": "Mine"}})).status,
            404,
            "PATCH {p}"
        );
        assert_eq!(delete(&app, &p).status, 404, "DELETE {p}");
    }
    // Their store with our token.
    let r = app.get(&format!("/api/v1/accounts/{store2}/rewards"));
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app.get(&format!("/api/v1/accounts/{store2}/rewards/{theirs}"));
    assert_eq!(r.status, 404, "{}", r.text);
    // Nothing of theirs in our list; theirs unchanged.
    assert_eq!(app.get(&rewards_path(&app)).body, json!([]));
    let r = app.request(
        "GET",
        &format!("/api/v1/accounts/{store2}/rewards/{theirs}"),
        Some(&token2),
        None,
        None,
    );
    assert_eq!(r.body["name"], "Theirs");
    // No token.
    let r = app.request("GET", &rewards_path(&app), None, None, None);
    assert_eq!(r.status, 401, "{}", r.text);
}

#[test]
fn list_filters_by_card_and_active() {
    let app = spawn_app();
    let a = card(&app, 10, json!({}));
    let b = card(&app, 10, json!({}));
    let a1 = reward(&app, a, "A1", 2);
    let a2 = reward(&app, a, "A2", 6);
    let b1 = reward(&app, b, "B1", 3);
    let r = app.patch(
        &reward_path(&app, a2),
        &json!({"reward": {"active": false}}),
    );
    assert_eq!(r.status, 200);

    let all = app.get(&rewards_path(&app));
    assert_eq!(all.status, 200, "{}", all.text);
    assert!(
        all.body.is_array(),
        "the list is a JSON array: {}",
        all.text
    );
    assert_eq!(sorted(ids(&all.body)), vec![a1, a2, b1]);

    let q = |query: &str| {
        let r = app.get(&format!("{}{query}", rewards_path(&app)));
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        sorted(ids(&r.body))
    };
    assert_eq!(q(&format!("?card_id={a}")), vec![a1, a2]);
    assert_eq!(q(&format!("?card_id={b}")), vec![b1]);
    assert_eq!(q("?active=true"), vec![a1, b1]);
    assert_eq!(q("?active=1"), vec![a1, b1]);
    assert_eq!(q("?active=false"), vec![a2]);
    assert_eq!(q("?active=0"), vec![a2]);
    // Present with an empty value, as Leal reads it: only the active ones.
    assert_eq!(q("?active="), vec![a1, b1]);
    assert_eq!(q("?active"), vec![a1, b1]);
    assert_eq!(q(&format!("?card_id={a}&active=true")), vec![a1]);
    assert_eq!(q(&format!("?card_id={b}&active=false")), Vec::<i64>::new());
    assert_eq!(q("?card_id=999999"), Vec::<i64>::new());
}

#[test]
fn rewards_count_follows_creates_and_deletes() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let other = card(&app, 10, json!({}));
    assert_eq!(card_json(&app, card_id)["rewards_count"], 0);

    let r1 = reward(&app, card_id, "One", 2);
    reward(&app, card_id, "Two", 4);
    reward(&app, other, "Elsewhere", 4);
    assert_eq!(card_json(&app, card_id)["rewards_count"], 2);
    assert_eq!(card_json(&app, other)["rewards_count"], 1);

    assert_eq!(delete(&app, &reward_path(&app, r1)).status, 204);
    assert_eq!(card_json(&app, card_id)["rewards_count"], 1);
    assert_eq!(card_json(&app, other)["rewards_count"], 1);
}

#[test]
fn available_rewards_are_the_active_affordable_ones() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let other = card(&app, 10, json!({}));
    let two = reward(&app, card_id, "Two", 2);
    let four = reward(&app, card_id, "Four", 4);
    let off = reward(&app, card_id, "Off", 1);
    reward(&app, other, "Other card", 1);
    app.patch(
        &reward_path(&app, off),
        &json!({"reward": {"active": false}}),
    );
    let cc = enrol(&app, card_id);

    let avail = |v: &Value| sorted(ids(&v["available_rewards"]));
    assert_eq!(avail(&cc.show(&app)), Vec::<i64>::new());

    let r = cc.stamp(&app, 2);
    assert_eq!(avail(&r.body), vec![two], "in the stamp answer: {}", r.text);
    assert_eq!(avail(&cc.show(&app)), vec![two]);

    cc.stamp(&app, 3);
    let shown = cc.show(&app);
    assert_eq!(avail(&shown), vec![two, four]);
    // Each entry is a reward object.
    let first = &shown["available_rewards"][0];
    assert_eq!(first["card_id"], card_id);
    assert!(first["name"].is_string() && first["stamps_required"].is_i64());

    // Deactivating or deleting a reward takes it off.
    app.patch(
        &reward_path(&app, two),
        &json!({"reward": {"active": false}}),
    );
    assert_eq!(avail(&cc.show(&app)), vec![four]);
    assert_eq!(delete(&app, &reward_path(&app, four)).status, 204);
    assert_eq!(avail(&cc.show(&app)), Vec::<i64>::new());

    // Also on the customer and in the customer-card list.
    app.patch(
        &reward_path(&app, two),
        &json!({"reward": {"active": true}}),
    );
    let c = app.get(&app.store_path(&format!("/customers/{}", cc.customer_id)));
    assert_eq!(avail(&c.body["customer_cards"][0]), vec![two], "{}", c.text);
    let l = app.get(&app.store_path(&format!("/customers/{}/customer_cards", cc.customer_id)));
    assert_eq!(avail(&l.body[0]), vec![two], "{}", l.text);

    // Spending stamps takes it off again.
    assert_eq!(cc.stamp(&app, -4).status, 200);
    assert_eq!(avail(&cc.show(&app)), Vec::<i64>::new());
}

#[test]
fn a_cards_stamps_required_cannot_go_below_a_rewards() {
    let app = spawn_app();
    let card_id = card(&app, 10, json!({}));
    let eight = reward(&app, card_id, "Eight", 8);
    let path = app.store_path(&format!("/cards/{card_id}"));

    let r = app.patch(&path, &json!({"card": {"stamps_required": 7}}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["errors"]["stamps_required"].is_array(), "{}", r.text);
    assert_eq!(card_json(&app, card_id)["stamps_required"], 10);

    let r = app.patch(&path, &json!({"card": {"stamps_required": 8}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_required"], 8);

    // A deleted reward no longer holds the card back.
    assert_eq!(delete(&app, &reward_path(&app, eight)).status, 204);
    let r = app.patch(&path, &json!({"card": {"stamps_required": 5}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_required"], 5);
}
