//! Segment actions: "send these customers their card link" queues one send per
//! customer of the segment and no one else, through the card-link throttle.

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::app::*;

const DAY: i64 = 86_400;

#[test]
fn insights_segment_send_queues_one_card_link_per_customer_within_the_throttle() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let card = app.create_card(json!({"name": "Coffee", "stamps_required": 10}));
    let card_id = card["id"].as_i64().unwrap();
    let now = jiff::Timestamp::now().as_second();
    let mut lapsed = BTreeSet::new();
    let conn = app.conn();
    // Odd customers last came 200 days ago (lapsed), even ones came yesterday after
    // weekly visits (regular).
    for i in 0..8 {
        let c = app.enrol(
            "Seg",
            &format!("Customer{i}"),
            &format!("seg{i}@example.com"),
            card_id,
        );
        let customer = c["id"].as_i64().unwrap();
        let cc = c["customer_card"]["id"].as_i64().unwrap();
        let last = if i % 2 == 1 {
            now - 200 * DAY
        } else {
            now - DAY
        };
        for (n, back) in [21, 14, 7, 0].into_iter().enumerate() {
            let at = jiff::Timestamp::from_second(last - back * DAY).unwrap();
            conn.execute(
                "INSERT INTO stamp_events (store_id, customer_card_id, kind, stamps,
                    balance_after, created_at) VALUES (?1, ?2, 'stamp', 1, ?3, ?4)",
                rusqlite::params![
                    app.store_id,
                    cc,
                    n as i64 + 1,
                    at.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string()
                ],
            )
            .unwrap();
        }
        if i % 2 == 1 {
            lapsed.insert(customer);
        }
    }
    let path = app.store_path("/insights/segments/send_card_links");
    let r = app.post(&path, &json!({"segment": "lapsed"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["customers"], 4);
    assert_eq!(r.body["queued"], 4);
    assert_eq!(r.body["suppressed"], 0);
    let deliveries = app.get_ok(&app.store_path("/deliveries?items=100"));
    let to: Vec<i64> = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["customer_id"].as_i64().unwrap())
        .collect();
    assert_eq!(to.len(), 4, "{deliveries}");
    assert_eq!(to.iter().copied().collect::<BTreeSet<_>>(), lapsed);

    // Again at once: the throttle holds every one back, and says so.
    let r = app.post(&path, &json!({"segment": "lapsed"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["queued"], 0);
    assert_eq!(r.body["suppressed"], 4);
    let pending = app.get_ok(&app.store_path("/deliveries?status=pending&items=100"));
    assert_eq!(pending["pagination"]["count"], 4);

    let r = app.post(&path, &json!({"segment": "gone"}));
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app.post(&path, &json!({}));
    assert_eq!(r.status, 422, "{}", r.text);
}
