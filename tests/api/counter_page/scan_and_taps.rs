//! A scan lands where it belongs and a tap counts as meant: a barcode scanner's burst of
//! keys opens the scanned card wherever the focus is (never stamps into the "Number of
//! stamps" box), many stamps at once and a full card ask first, a double tap on +1
//! gives one stamp, and a card that can pay for a reward says so beside +1.

use std::time::Duration;

use serde_json::{json, Value};

use super::{coffee_card, counter, id, Counter};
use crate::support::webdriver::ENTER;

fn cc_of(customer: &Value) -> i64 {
    customer["customer_card"]["id"]
        .as_i64()
        .expect("customer card")
}

fn code_of(customer: &Value) -> String {
    customer["customer_card"]["code"]
        .as_str()
        .expect("code")
        .to_string()
}

/// How long apart the scanner's keys reached the page (ms), as the page saw them.
fn key_gaps(c: &Counter) -> Value {
    c.page.execute(
        "const t = window.__keyTimes || []; return t.slice(1).map((x, i) => Math.round(x - t[i]));",
        json!([]),
    )
}

fn time_keys(c: &Counter) {
    c.page.execute(
        "window.__keyTimes = []; window.addEventListener('keydown', (e) => window.__keyTimes.push(e.timeStamp), true);",
        json!([]),
    );
}

#[test]
fn a_scan_typed_into_the_stamps_box_opens_the_scanned_card_and_stamps_nothing() {
    let Some(c) = counter("scan_into_stamps_box") else {
        return;
    };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let bob = c.app.enrol("Bob", "Stone", "bob@example.com", id(&card));
    let (ann_cc, bob_cc) = (cc_of(&ann), cc_of(&bob));
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(ann_cc, 1);

    // Give 3 from the box: the box lets go of the focus.
    let boxed = format!("#cc-{ann_cc}-several");
    c.page.replace_text(&boxed, &format!("3{ENTER}"));
    c.wait_for_stamps(ann_cc, 4);
    assert_ne!(
        c.page.focused_id(),
        format!("cc-{ann_cc}-several"),
        "after Give the stamps box has no focus"
    );

    // Even with the focus put back in the box, the next customer's scan opens them.
    time_keys(&c);
    c.page.click(&boxed);
    assert_eq!(c.page.focused_id(), format!("cc-{ann_cc}-several"));
    c.page.keyboard(&format!("{}{ENTER}", code_of(&bob)));
    c.page.wait_for_text("#customer-name", "Bob Stone");
    c.wait_for_stamps(bob_cc, 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        c.app.customer_card(id(&ann), ann_cc)["stamps_count"],
        json!(4),
        "the scan gave Ann nothing (key gaps {})",
        key_gaps(&c)
    );
    assert_eq!(
        c.app.customer_card(id(&bob), bob_cc)["stamps_count"],
        json!(1)
    );
    eprintln!("scanner key gaps (ms): {}", key_gaps(&c));

    // A scan while a dialog asks something cancels the question and opens the card.
    c.open_customer("Ann", "Ann Lee");
    c.page.replace_text(&boxed, "2");
    c.page
        .click(&format!("#cc-{ann_cc} .several button.danger"));
    c.page.wait_for_text("#confirm-title", "Remove 2 stamps?");
    c.page.keyboard(&format!("{}{ENTER}", code_of(&bob)));
    c.page.wait_for_text("#customer-name", "Bob Stone");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        c.app.customer_card(id(&ann), ann_cc)["stamps_count"],
        json!(4),
        "the scan's Enter confirmed nothing"
    );

    // A person typing in the box is no scan: slow keys give what they say.
    c.open_customer("Ann", "Ann Lee");
    c.page.click(&boxed);
    c.page.execute(
        "document.getElementById(arguments[0]).value = '';",
        json!([format!("cc-{ann_cc}-several")]),
    );
    for key in ["2", ENTER] {
        c.page.keyboard(key);
        std::thread::sleep(Duration::from_millis(150));
    }
    c.wait_for_stamps(ann_cc, 6);
}

#[test]
fn more_than_five_stamps_at_once_ask_first() {
    let Some(c) = counter("many_stamps_ask") else {
        return;
    };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let cc = cc_of(&ann);
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 1);

    c.page
        .replace_text(&format!("#cc-{cc}-several"), &format!("92{ENTER}"));
    c.page.wait_for_text("#confirm-title", "Give 92 stamps?");
    assert!(c.page.text_of("#confirm-text").contains("from 1 to 93"));
    c.shot("40-many-stamps-ask");
    c.page.click("#confirm-cancel");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.app.customer_card(id(&ann), cc)["stamps_count"], json!(1));

    c.page
        .replace_text(&format!("#cc-{cc}-several"), &format!("6{ENTER}"));
    c.page.wait_for_text("#confirm-title", "Give 6 stamps?");
    c.page.click("#confirm-ok");
    c.wait_for_stamps(cc, 7);

    // Five or fewer go at once.
    c.page
        .replace_text(&format!("#cc-{cc}-several"), &format!("1{ENTER}"));
    c.wait_for_stamps(cc, 8);
}

/// Clicks (or touches) +1 twice, `gap_ms` apart, from inside the page so that the gap
/// is what a finger makes.
fn double_tap(c: &Counter, cc: i64, gap_ms: u64, touch: bool) {
    c.page.execute(
        r#"
        const [cc, gap, touch] = arguments;
        const tap = () => {
          const b = document.querySelector(`#cc-${cc} .plus-one`);
          if (touch) {
            const t = new Touch({ identifier: 1, target: b, clientX: 5, clientY: 5 });
            b.dispatchEvent(new TouchEvent('touchstart', { bubbles: true, touches: [t], changedTouches: [t] }));
            b.dispatchEvent(new TouchEvent('touchend', { bubbles: true, touches: [], changedTouches: [t] }));
          }
          b.click();
        };
        tap();
        setTimeout(tap, gap);
        "#,
        json!([cc, gap_ms, touch]),
    );
    std::thread::sleep(Duration::from_millis(gap_ms + 400));
}

#[test]
fn a_double_tap_on_plus_one_gives_one_stamp_and_undo_takes_back_the_visit() {
    let Some(c) = counter("double_tap") else {
        return;
    };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let (cid, cc) = (id(&ann), cc_of(&ann));
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 1);

    let mut expected = 1;
    for (gap, touch) in [(80, false), (300, false), (80, true), (300, true)] {
        double_tap(&c, cc, gap, touch);
        expected += 1;
        c.wait_for_stamps(cc, expected);
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(
            c.app.customer_card(cid, cc)["stamps_count"],
            json!(expected),
            "a double tap {gap} ms apart (touch: {touch}) is one stamp"
        );
        c.page
            .wait_for_text(&format!("#cc-{cc} .ops"), "Counted once");
        std::thread::sleep(Duration::from_millis(900));
    }
    // Taps a second apart are two stamps; the visit's tally and Undo take all of them.
    c.page.wait_for_text(&format!("#cc-{cc} .undo"), "Undo +4");
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.wait_for_stamps(cc, 6);
    c.page
        .wait_for_text(&format!("#cc-{cc} .ops"), "+5 this visit");
    c.page.wait_for_text(&format!("#cc-{cc} .undo"), "Undo +5");
    c.page.click(&format!("#cc-{cc} .undo"));
    c.wait_for_stamps(cc, 1);
    let ledger = c.app.events(cid, cc);
    assert_eq!(ledger[0]["kind"], json!("adjustment"));
    assert_eq!(ledger[0]["stamps"], json!(-5));
}

#[test]
fn a_card_that_can_pay_for_a_reward_shows_it_beside_plus_one_and_a_full_card_asks() {
    let Some(c) = counter("reward_moment") else {
        return;
    };
    let card = coffee_card(&c.app);
    c.app.create_reward(id(&card), "Free coffee", 8);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let (cid, cc) = (id(&ann), cc_of(&ann));
    c.app.post_ok(
        &c.app
            .store_path(&format!("/customers/{cid}/customer_cards/{cc}/stamp")),
        json!({"stamps": 6}),
    );
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 7);
    assert!(c.page.find(&format!("#cc-{cc} .reward-ready")).is_none());

    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.wait_for_stamps(cc, 8);
    let ready = c.page.wait_for_text(
        &format!("#cc-{cc} .stamp-row .reward-ready"),
        "Free coffee ready",
    );
    assert!(c.page.text(&ready).to_lowercase().contains("redeem"));
    // Beside +1, and the bigger of the two.
    let sizes = c.page.execute(
        r#"
        const row = document.querySelector(`#cc-${arguments[0]} .stamp-row`);
        const [plus, ready] = [row.querySelector('.plus-one'), row.querySelector('.reward-ready')];
        const [p, r] = [plus.getBoundingClientRect(), ready.getBoundingClientRect()];
        return { sameRow: Math.abs(p.top - r.top) < 4, plus: p.width * p.height, ready: r.width * r.height };
        "#,
        json!([cc]),
    );
    assert_eq!(sizes["sameRow"], json!(true), "{sizes}");
    assert!(
        sizes["ready"].as_f64() > sizes["plus"].as_f64(),
        "the reward is the big button on a full card: {sizes}"
    );
    c.shot("41-reward-ready");

    // +1 on the full card asks first.
    std::thread::sleep(Duration::from_millis(900));
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.page.wait_for_text("#confirm-title", "The card is full");
    assert!(c
        .page
        .text_of("#confirm-text")
        .contains("Free coffee is ready"));
    c.page.click("#confirm-cancel");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(8));

    c.page.click(&format!("#cc-{cc} .reward-ready"));
    c.page.wait_for_text("#confirm", "Redeem Free coffee?");
    c.page.click("#confirm-ok");
    c.wait_for_stamps(cc, 0);
    assert!(c.page.find(&format!("#cc-{cc} .reward-ready")).is_none());
}
