//! Staff at the counter on the page: an owner pairs a tablet with a code, staff sign in
//! on it by name and PIN and switch, the tablet locks itself when left alone, staff do
//! not see the owners' screens, owners manage staff, tablets and see the suspicious
//! activity, and signing a tablet out takes an owner's PIN.

use serde_json::json;

use super::{coffee_card, counter_sized, counter_with, id, Counter};
use crate::staff::{add_staff, pair_device, sign_in as pin_sign_in};

/// Signs `name` in on the tablet's picker with `pin`.
fn pick(c: &Counter, name: &str, pin: &str) {
    c.page.click_text("#picker-list button", name);
    c.page.wait_for_text("label[for=pin]", name);
    c.page.replace_text("#pin", pin);
    c.page.click("#pin-ok");
}

/// Whether the element is on screen (present and displayed).
fn shown(c: &Counter, css: &str) -> bool {
    c.page.find(css).is_some_and(|el| c.page.is_displayed(&el))
}

/// A pairing code from the API, as an owner's screen shows it.
fn pairing_code(c: &Counter) -> String {
    let code = c.app.post_ok(
        &c.app.store_path("/devices/pairing_codes"),
        json!({"name": "Counter tablet"}),
    );
    code["code"].as_str().unwrap().to_string()
}

#[test]
fn staff_pair_a_tablet_with_the_code_then_switch_staff_by_pin() {
    let Some(c) = counter_sized("staff_pair_and_switch", 768, 1024) else {
        return;
    };
    add_staff(&c.app, "Sam", "1234", "staff");
    add_staff(&c.app, "Olga", "987654", "owner");
    let card = coffee_card(&c.app);
    let ann = c.app.create_customer(
        json!({"customer": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
            "card_id": card["id"]}),
    );
    let cc = id(&ann["customer_card"]);

    // The owner, signed in with the API token, shows a code.
    c.sign_in();
    c.page.click("a[data-nav=staff]");
    c.page.wait_for_text("#members-list", "Sam");
    c.page.click("#pair-tablet");
    let code = c.page.text(&c.page.wait_for("#pairing-code"));
    assert!(
        regex_like_code(&code),
        "a code shown as XXXX-XXXX: {code:?}"
    );
    assert!(c
        .page
        .find("#pairing-code-panel img[src^='data:image/svg+xml']")
        .is_some());
    c.shot("staff-pairing-code-768");
    c.page.set_window_size(1280, 800);
    c.shot("staff-pairing-code-1280");
    c.page.set_window_size(768, 1024);

    // The same browser becomes the tablet: sign the owner out, pair with the code.
    c.page.click("#sign-out");
    c.page.wait_for("#pair-code");
    c.page.type_into("#pair-code", &code.to_lowercase());
    c.page.click("#pair-submit");
    c.page.wait_for_text("#picker-list", "Olga");
    assert!(!shown(&c, "#topbar"), "nobody signed in: no top bar");
    let devices = c.app.get_ok(&c.app.store_path("/devices"));
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    c.shot("staff-picker-768");

    // A wrong PIN says so; the right one opens the counter as Sam.
    pick(&c, "Sam", "0000");
    c.page.wait_for_text("#pin-error", "Wrong PIN");
    c.shot("staff-pin-wrong-768");
    c.page.replace_text("#pin", "1234");
    c.page.click("#pin-ok");
    c.page.wait_for("#search");
    assert_eq!(c.page.text_of("#staff-name"), "Sam");
    assert!(shown(&c, "#switch-staff"));
    assert_eq!(c.page.text_of("#sign-out"), "Sign out tablet");

    // Sam's stamp names him in the activity list and in the ledger.
    c.open_customer("Ann", "Ann Lee");
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.wait_for_stamps(cc, 2);
    c.page
        .wait_for_text(&format!("#cc-{cc} .cc-ledger .by"), "Sam");
    let events = c.app.get_ok(&c.app.store_path(&format!(
        "/customers/{}/customer_cards/{cc}/events",
        id(&ann)
    )));
    assert_eq!(events["events"][0]["staff_name"], "Sam", "{events}");
    c.shot("staff-customer-as-staff-768");

    // Switching staff goes back to the picker; an owner's PIN opens the owners' screens.
    c.page.click("#switch-staff");
    c.page.wait_for_text("#picker-list", "Sam");
    pick(&c, "Olga", "987654");
    c.page.wait_for("#search");
    assert_eq!(c.page.text_of("#staff-name"), "Olga");
    assert!(shown(&c, "a[data-nav=staff]"));
    assert!(shown(&c, "a[data-nav=cards]"));
    c.shot("staff-find-as-owner-768");
}

fn regex_like_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_alphanumeric())
}

#[test]
fn staff_do_not_see_the_owners_screens_and_a_pair_link_pairs_at_once() {
    let Some(c) = counter_sized("staff_role_aware", 1280, 800) else {
        return;
    };
    add_staff(&c.app, "Sam", "1234", "staff");
    let code = pairing_code(&c);
    c.page.goto(&format!("{}/#pair={code}", c.app.base));
    c.page.wait_for_text("#picker-list", "Sam");
    pick(&c, "Sam", "1234");
    c.page.wait_for("#search");
    for nav in ["cards", "posters", "staff", "settings"] {
        assert!(
            !shown(&c, &format!("a[data-nav={nav}]")),
            "{nav} is hidden from staff"
        );
    }
    assert!(shown(&c, "a[data-nav=find]") && shown(&c, "a[data-nav=enrol]"));
    c.shot("staff-find-as-staff-1280");
    // Typed in by hand, an owner's screen says whose it is instead of showing nothing.
    for hash in ["#/cards", "#/staff", "#/flags", "#/settings"] {
        c.page.goto(&format!("{}/{hash}", c.app.base));
        c.page.wait_for_text("#owners-title", "For owners only");
    }
    c.shot("staff-owners-only-1280");
}

#[test]
fn staff_idle_tablet_locks_back_to_the_picker() {
    let Some(c) = counter_with("staff_idle_lock", 768, 1024, |s| {
        s.counter_idle_lock_secs = 2;
    }) else {
        return;
    };
    let sam = add_staff(&c.app, "Sam", "1234", "staff");
    let code = pairing_code(&c);
    c.page.goto(&format!("{}/#pair={code}", c.app.base));
    c.page.wait_for_text("#picker-list", "Sam");
    pick(&c, "Sam", "1234");
    c.page.wait_for("#search");
    // Nothing touched for the idle time: back to the picker, the session ended.
    c.page
        .wait_for_text("#picker-message", "Locked after a while without use");
    assert!(!shown(&c, "#search"));
    c.page.wait_until("the idle lock to end Sam's session", || {
        let sessions: i64 = c
            .app
            .conn()
            .query_row(
                "SELECT count(*) FROM staff_sessions WHERE staff_id = ?1",
                [sam],
                |r| r.get(0),
            )
            .unwrap();
        (sessions == 0).then_some(())
    });
    c.shot("staff-idle-locked-768");
}

#[test]
fn staff_screens_for_owners_manage_staff_tablets_and_list_suspicious_activity() {
    let Some(c) = counter_sized("staff_owner_screens", 1280, 800) else {
        return;
    };
    let sam = add_staff(&c.app, "Sam", "1234", "staff");
    let (device, device_id) = pair_device(&c.app, "Back tablet");
    // Five wrong PINs lock Sam out and raise a flag.
    for _ in 0..5 {
        pin_sign_in(&c.app, &device, sam, "0000");
    }
    // And enough refused stamps for two pages of flags.
    let conn = c.app.conn();
    for i in 0..24 {
        conn.execute(
            "INSERT INTO flags (store_id, kind, limit_name, message, created_at)
             VALUES (?1, 'refused', 'max_stamps_per_day', ?2, '2026-03-01T10:00:00.000Z')",
            rusqlite::params![c.app.store_id, format!("Refused stamp number {i}")],
        )
        .unwrap();
    }

    c.sign_in();
    c.page.click("a[data-nav=staff]");
    c.page
        .wait_for_text(&format!("#members-list li[data-id='{sam}']"), "Locked out");
    c.page.wait_for_text(
        &format!("#devices-list li[data-id='{device_id}']"),
        "Back tablet",
    );
    // Add a member through the form; a short PIN is refused with the API's words.
    c.page.type_into("#staff-name-input", "Kim");
    c.page.type_into("#staff-pin", "12");
    c.page.click("#staff-add");
    c.page.wait_for_text("#staff-pin-error", "digits");
    c.page.replace_text("#staff-pin", "4321");
    c.page.click("#staff-add");
    c.page.wait_for_text("#members-list", "Kim");
    c.shot("staff-members-1280");
    // Unlock Sam.
    c.page.click_text(
        &format!("#members-list li[data-id='{sam}'] button"),
        "Unlock",
    );
    c.page.wait_until("Sam unlocked", || {
        let text = c
            .page
            .text_of(&format!("#members-list li[data-id='{sam}']"));
        (!text.contains("Locked out")).then_some(())
    });
    assert_eq!(pin_sign_in(&c.app, &device, sam, "1234").status, 201);
    // Revoke the back tablet.
    c.page.click_text(
        &format!("#devices-list li[data-id='{device_id}'] button"),
        "Revoke",
    );
    c.page.click("#confirm-ok");
    c.page
        .wait_for_text("#devices-status", "No tablet is paired yet");
    let revoked = c
        .app
        .get_ok(&c.app.store_path(&format!("/devices/{device_id}")));
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // Suspicious activity, a page at a time, newest first.
    c.page.click("#to-flags");
    c.page.wait_for_text("#flags-status", "25 in all");
    assert_eq!(c.page.find_all("#flags-list li").len(), 20);
    c.page
        .wait_for_text("#flags-list li:first-child", "Refused stamp number 23");
    c.shot("staff-suspicious-activity-1280");
    c.page.set_window_size(768, 1024);
    c.shot("staff-suspicious-activity-768");
    c.page.click("#flags-older");
    c.page.wait_for_text("#flags-status", "page 2 of 2");
    let last = c.page.text_of("#flags-list");
    assert!(
        last.contains("PIN lock-out") && last.contains("Sam"),
        "{last}"
    );
}

#[test]
fn staff_signing_a_tablet_out_takes_an_owners_pin() {
    let Some(c) = counter_sized("staff_tablet_sign_out", 768, 1024) else {
        return;
    };
    add_staff(&c.app, "Sam", "1234", "staff");
    add_staff(&c.app, "Olga", "987654", "owner");
    let code = pairing_code(&c);
    c.page.goto(&format!("{}/#pair={code}", c.app.base));
    c.page.wait_for_text("#picker-list", "Sam");
    pick(&c, "Sam", "1234");
    c.page.wait_for("#search");
    c.page.click("#sign-out");
    c.page.wait_for_text("#owner-pin", "Owner’s PIN");
    c.shot("staff-tablet-sign-out-768");
    // Sam's own PIN is not an owner's; a wrong PIN keeps the tablet.
    c.page.replace_text("#owner-pin-pin", "1111");
    c.page.click("#owner-pin-pin-ok");
    c.page.wait_for_text("#owner-pin-pin-error", "Wrong PIN");
    c.page.replace_text("#owner-pin-pin", "987654");
    c.page.click("#owner-pin-pin-ok");
    c.page.wait_for("#signin-token");
    c.page
        .wait_for_text("#notice-text", "signed out and unpaired");
    let devices = c.app.get_ok(&c.app.store_path("/devices"));
    assert!(devices[0]["revoked_at"].is_string(), "{devices}");
    // Nothing of the tablet is left in the browser.
    let kept = c.page.execute(
        "return localStorage.getItem('stampd.counter.session')",
        json!([]),
    );
    assert!(kept.is_null(), "{kept}");
}
