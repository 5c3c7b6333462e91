//! Stamps given while stampd cannot be reached are kept on the tablet with their
//! Idempotency-Keys, shown with their state, survive a reload and go through by
//! themselves when stampd answers again: none lost, none given twice.

use std::time::Duration;

use serde_json::{json, Value};

use super::{coffee_card, counter, id, Counter};

/// The requests the page keeps in the browser's storage.
fn kept(c: &Counter) -> Vec<Value> {
    c.page
        .execute(
            "return JSON.parse(localStorage.getItem('stampd.counter.queue') || '[]');",
            json!([]),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn stamp_events(c: &Counter, cid: i64, cc: i64) -> usize {
    c.app
        .events(cid, cc)
        .iter()
        .filter(|e| e["kind"] == json!("stamp"))
        .count()
}

#[test]
fn stamps_given_while_stampd_is_down_go_through_by_themselves_when_it_is_back() {
    let Some(mut c) = counter("offline_stopped_server") else {
        return;
    };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let (cid, cc) = (id(&ann), ann["customer_card"]["id"].as_i64().unwrap());
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 1);

    let port = c.app.port;
    c.app.stop();
    c.page.click(&format!("#cc-{cc} .plus-one"));
    let failed = c
        .page
        .wait_for(&format!("#cc-{cc} .ops li[data-state=failed]"));
    assert!(c.page.text(&failed).contains("sent by itself"));
    c.page
        .wait_for_text("#pending-link", "1 request waiting for stampd");

    // A second tap while the first waits asks, and is then shown waiting behind it.
    std::thread::sleep(Duration::from_millis(900));
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.page
        .wait_for_text("#confirm-title", "Give another stamp?");
    assert!(c
        .page
        .text_of("#confirm-text")
        .contains("not reached stampd yet"));
    c.page.click("#confirm-ok");
    c.page.wait_for_text(
        &format!("#cc-{cc} .ops li[data-state=queued]"),
        "waiting for the request before it",
    );
    c.page.wait_for_text("#pending-link", "2 requests");
    c.shot("42-offline-queued");
    let ops = kept(&c);
    assert_eq!(ops.len(), 2, "both kept on the device: {ops:?}");
    assert!(ops[0]["key"].is_string() && ops[0]["key"] != ops[1]["key"]);
    assert_eq!(c.stamps_on_screen(cc), 1);

    // stampd is back on the same address: no one presses anything.
    c.app.restart_with(|s| s.bind = format!("127.0.0.1:{port}"));
    c.wait_for_stamps(cc, 3);
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(3));
    assert_eq!(stamp_events(&c, cid, cc), 2);
    c.page.wait_until("the kept requests to be gone", || {
        kept(&c).is_empty().then_some(())
    });
    c.page.wait_until("the pending badge to go", || {
        c.page
            .find("#pending-link")
            .filter(|l| !c.page.is_displayed(l))
    });
}

#[test]
fn stamps_queued_when_the_reply_was_lost_survive_a_reload_and_count_once() {
    let Some(c) = counter("offline_reload") else {
        return;
    };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let (cid, cc) = (id(&ann), ann["customer_card"]["id"].as_i64().unwrap());
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 1);

    // The first stamp reaches stampd but its answer is lost, and the line stays down.
    c.page.execute(
        r#"
        window.__mode = 'lose-answer';
        const real = window.fetch.bind(window);
        window.fetch = async (url, opts = {}) => {
          if ((opts.method || 'GET') === 'POST' && /\/stamp$/.test(String(url))) {
            if (window.__mode === 'offline') throw new TypeError('Failed to fetch');
            await real(url, opts);
            window.__mode = 'offline';
            throw new TypeError('Failed to fetch');
          }
          return real(url, opts);
        };
        "#,
        json!([]),
    );
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.page.wait_until("the stamp to reach stampd", || {
        (c.app.customer_card(cid, cc)["stamps_count"] == json!(2)).then_some(())
    });
    std::thread::sleep(Duration::from_millis(900));
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.page
        .wait_for_text("#confirm-title", "Give another stamp?");
    c.page.click("#confirm-ok");
    c.page.wait_until("both stamps kept on the device", || {
        (kept(&c).len() == 2).then_some(())
    });
    let before: Vec<Value> = kept(&c).iter().map(|op| op["key"].clone()).collect();
    assert_eq!(c.stamps_on_screen(cc), 1);

    // A reload: the page comes back with both and sends them, the first with its key.
    c.page.refresh();
    c.wait_for_stamps(cc, 3);
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(3));
    assert_eq!(
        stamp_events(&c, cid, cc),
        2,
        "the lost answer's stamp was not given again (keys {before:?})"
    );
    c.page.wait_until("the kept requests to be gone", || {
        kept(&c).is_empty().then_some(())
    });
}
