//! The settings screen lists the store's webhook subscriptions with how each one's last
//! delivery went and whether it is on.

use serde_json::json;

use super::counter;

#[test]
fn webhook_subscriptions_show_on_the_settings_screen_with_their_last_status() {
    let Some(c) = counter("webhook_settings_screen") else {
        return;
    };
    let path = c.app.store_path("/webhook_subscriptions");
    let ok = c.app.post_ok(
        &path,
        json!({"target_url": "https://pos.example.com/stampd", "events": ["*"], "description": "Till"}),
    );
    let failing = c.app.post_ok(
        &path,
        json!({"target_url": "https://news.example.com/in", "events": ["customer.created", "stamp.earned"]}),
    );
    c.app.post_ok(
        &path,
        json!({"target_url": "https://fresh.example.com/in", "event": "reward.redeemed"}),
    );
    // How the last deliveries went, as the sender records them.
    let conn = c.app.conn();
    conn.execute(
        "UPDATE webhook_subscriptions SET last_delivery_at = '2026-03-01T10:00:00.000Z',
            last_delivery_status = 204 WHERE id = ?1",
        [ok["id"].as_i64().unwrap()],
    )
    .unwrap();
    conn.execute(
        "UPDATE webhook_subscriptions SET last_delivery_at = '2026-03-01T11:00:00.000Z',
            last_delivery_status = 410, last_delivery_error = 'answered 410: gone',
            enabled = 0, disabled_reason = 'failing', disabled_at = '2026-03-01T11:00:00.000Z'
         WHERE id = ?1",
        [failing["id"].as_i64().unwrap()],
    )
    .unwrap();

    c.sign_in();
    c.page.click("a[data-nav=settings]");
    c.page.wait_for_text("#webhooks-list li", "pos.example.com");
    let item = |id: &serde_json::Value| {
        c.page
            .text_of(&format!("#webhooks-list li[data-id='{id}']"))
    };
    let first = item(&ok["id"]);
    assert!(first.contains("https://pos.example.com/stampd"), "{first}");
    assert!(first.contains("Till"), "{first}");
    assert!(first.contains("All events"), "{first}");
    assert!(first.contains("OK (204)"), "{first}");
    assert!(first.contains("On"), "{first}");
    let second = item(&failing["id"]);
    assert!(
        second.contains("customer.created, stamp.earned"),
        "{second}"
    );
    assert!(second.contains("failed: answered 410: gone"), "{second}");
    assert!(second.contains("the receiver kept failing"), "{second}");
    let third = c.page.text_of("#webhooks-list li:nth-child(3)");
    assert!(third.contains("Nothing sent yet"), "{third}");
    c.shot("webhooks-settings");
}
