//! The delivery history is bounded: tries beyond `webhook_history_per_subscription` or
//! older than `webhook_history_days` are removed with the events only they referred to;
//! the recent ones stay listed and can be delivered again.

use std::time::Duration;

use serde_json::json;

use super::*;

const WAIT: Duration = Duration::from_secs(15);

fn count(app: &TestApp, sql: &str, sub: &Value) -> i64 {
    app.conn()
        .query_row(sql, [sub.as_i64().unwrap()], |r| r.get(0))
        .unwrap()
}

fn deliveries(app: &TestApp, sub: &Value) -> i64 {
    count(
        app,
        "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = ?1",
        sub,
    )
}

fn events(app: &TestApp, sub: &Value) -> i64 {
    count(
        app,
        "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND address = CAST(?1 AS TEXT)",
        sub,
    )
}

#[test]
fn webhook_history_beyond_its_limits_is_removed_and_the_rest_stays_redeliverable() {
    let (app, rx) = hooked(|s| {
        s.webhook_history_per_subscription = 3;
        s.webhook_history_sweep_secs = 1;
    });
    let sub = subscribe_to(&app, &rx, json!(["stamp.earned"]));
    let other = subscribe_to(&app, &rx, json!(["stamp.removed"]));
    let (customer, cc) = enrolled(&app, 0);
    for _ in 0..6 {
        assert_eq!(stamp(&app, customer, cc, 1).status, 200);
    }
    assert_eq!(stamp(&app, customer, cc, -1).status, 200);
    let got = rx.wait_for(7, WAIT);
    let earned: Vec<String> = got
        .iter()
        .filter(|r| r.header("webhook-event") == "stamp.earned")
        .map(|r| r.header("webhook-id").to_string())
        .collect();
    assert_eq!(earned.len(), 6);

    let list_path = app.store_path(&format!("/webhook_subscriptions/{}/deliveries", sub["id"]));
    eventually(WAIT, "the tries beyond the newest 3 removed", || {
        deliveries(&app, &sub["id"]) == 3 && events(&app, &sub["id"]) == 3
    });
    let page = app.get_ok(&list_path);
    assert_eq!(page["pagination"]["count"], 3, "{page}");
    let listed: Vec<&str> = page["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event_id"].as_str().unwrap())
        .collect();
    let mut newest: Vec<&str> = earned[3..].iter().map(String::as_str).collect();
    newest.reverse();
    assert_eq!(listed, newest, "the newest stay, newest first");
    assert_eq!(
        deliveries(&app, &other["id"]),
        1,
        "each subscription's own limit"
    );
    assert_eq!(events(&app, &other["id"]), 1);

    // The oldest kept try is delivered again, with its id.
    let oldest = &page["deliveries"][2];
    let r = app.post(
        &format!("{list_path}/{}/redeliver", oldest["id"]),
        &json!({}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let got = rx.wait_for(8, WAIT);
    assert_eq!(
        got[7].header("webhook-id"),
        oldest["event_id"].as_str().unwrap()
    );

    // Past the age limit, a try goes however few there are.
    app.conn()
        .execute(
            "UPDATE webhook_deliveries SET created_at = '2000-01-01T00:00:00.000Z'
             WHERE subscription_id = ?1",
            [other["id"].as_i64().unwrap()],
        )
        .unwrap();
    app.conn()
        .execute(
            "UPDATE outbox SET updated_at = '2000-01-01T00:00:00.000Z'
             WHERE channel = 'webhook' AND address = CAST(?1 AS TEXT)",
            [other["id"].as_i64().unwrap()],
        )
        .unwrap();
    eventually(WAIT, "the old try removed", || {
        deliveries(&app, &other["id"]) == 0 && events(&app, &other["id"]) == 0
    });
    assert_eq!(deliveries(&app, &sub["id"]), 3);

    // A deleted subscription takes its history with it.
    let path = app.store_path(&format!("/webhook_subscriptions/{}", sub["id"]));
    assert_eq!(app.delete(&path).status, 204);
    assert_eq!(deliveries(&app, &sub["id"]), 0);
    assert_eq!(events(&app, &sub["id"]), 0);
}
