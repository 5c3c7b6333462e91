//! The smaller things a barista and an owner trip over: where the focus goes after an
//! error, what the idle Find screen shows, how cards, fields, phones and dates are
//! worded, a label that must not wrap, notices that must not move the page, and the
//! order of search results.

use serde_json::{json, Value};

use super::{counter, counter_sized, id, Counter};
use crate::support::webdriver::ENTER;

fn names_listed(c: &Counter) -> Vec<String> {
    c.page
        .find_all("#results button .who strong")
        .iter()
        .map(|e| c.page.text(e))
        .collect()
}

#[test]
fn errors_focus_the_first_field_on_the_form_not_the_first_alphabetically() {
    let Some(c) = counter("first_field_focus") else {
        return;
    };
    c.sign_in();
    c.page.click("a[data-nav=enrol]");
    c.page.wait_for("#enrol-first_name");
    // No first name and a bad email: the API lists "email" first.
    c.page.type_into("#enrol-email", "ann@");
    c.page.click("#enrol-submit");
    c.page.wait_for_text("#enrol-email-error", "is invalid");
    c.page
        .wait_for_text("#enrol-first_name-error", "First name");
    assert_eq!(c.page.focused_id(), "enrol-first_name");
}

#[test]
fn the_idle_find_screen_shows_no_contact_details() {
    let Some(c) = counter("idle_find_private") else {
        return;
    };
    let card = c
        .app
        .create_card(json!({"name": "Coffee", "stamps_required": 8}));
    c.app
        .create_customer(json!({"customer": {"first_name": "Ann", "last_name": "Lee",
        "email": "ann@example.com", "phone": "+14155550132"}, "card_id": card["id"]}));
    c.sign_in();
    c.page.wait_for_text("#results button", "Ann Lee");
    let idle = c.page.text_of("#results");
    assert!(
        !idle.contains("ann@example.com") && !idle.contains("555"),
        "{idle}"
    );
    // A search shows them, to tell two Anns apart; the phone grouped.
    c.page.type_into("#search", "lee");
    c.page.wait_for_text("#results button", "ann@example.com");
    assert!(c.page.text_of("#results").contains("+1 415 555 0132"));
}

#[test]
fn words_on_screen_read_as_people_say_them() {
    let Some(c) = counter("wording") else {
        return;
    };
    let card = c
        .app
        .create_card(json!({"name": "Coffee card", "stamps_required": 8}));
    let ann = c
        .app
        .create_customer(json!({"customer": {"first_name": "Ann", "last_name": "Lee",
        "email": "ann@example.com", "phone": "+442079460958"}, "card_id": card["id"]}));
    let cc = ann["customer_card"]["id"].as_i64().unwrap();
    c.app.post_ok(
        &c.app.store_path(&format!(
            "/customers/{}/customer_cards/{cc}/stamp",
            id(&ann)
        )),
        json!({"stamps": 3}),
    );
    c.app.write_tx(|tx| {
        tx.execute(
            "UPDATE customers SET created_at = '2024-03-05T21:51:00Z' WHERE id = ?1",
            [id(&ann)],
        )
        .unwrap()
    });
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 3);

    // "Customer since" is a day, never a time of day; the phone is grouped.
    let since = c.page.execute(
        "const dts = [...document.querySelectorAll('#customer-contact dt')]; \
         const dt = dts.find((d) => d.textContent === 'Customer since'); \
         return dt ? dt.nextElementSibling.textContent : null;",
        json!([]),
    );
    let since = since.as_str().expect("a Customer since row");
    assert!(since.contains("2024") && !since.contains(':'), "{since}");
    assert!(c
        .page
        .text_of("#customer-contact")
        .contains("+44 207 946 0958"));

    // A card named "... card" is not a "card card".
    c.page.replace_text(&format!("#cc-{cc}-several"), "2");
    c.page.click(&format!("#cc-{cc} .several button.danger"));
    c.page.wait_for_text("#confirm-title", "Remove 2 stamps?");
    let text = c.page.text_of("#confirm-text");
    assert!(text.contains("Ann Lee's Coffee card from 3 to 1"), "{text}");
    c.page.click("#confirm-cancel");

    // The API's field names come out as the form's labels.
    c.page.click("a[data-nav=cards]");
    c.page
        .click(&format!("#cards-active a[href='#/cards/{}']", id(&card)));
    c.page.wait_for_text("#card-title", "Edit card");
    c.page.replace_text("#card-initial_stamps", "9");
    c.page.click("#card-save");
    let error = c
        .page
        .wait_for_text("#card-initial_stamps-error", "Welcome stamps must be");
    let error = c.page.text(&error);
    assert!(!error.contains('_'), "{error}");
    assert!(error.contains("Stamps for a full card"), "{error}");
}

#[test]
fn number_of_stamps_stays_on_one_line_and_notices_do_not_move_the_page() {
    let Some(c) = counter_sized("label_and_notice", 768, 1024) else {
        return;
    };
    let card = c
        .app
        .create_card(json!({"name": "Coffee", "stamps_required": 8}));
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let cc = ann["customer_card"]["id"].as_i64().unwrap();
    c.sign_in();
    for (width, height) in [(768, 1024), (1280, 800)] {
        c.page.set_window_size(width, height);
        c.open_customer("Ann", "Ann Lee");
        c.wait_for_stamps(cc, 0);
        let label = c.page.execute(
            "const l = document.querySelector(`label[for=cc-${arguments[0]}-several]`); \
             return { h: l.getBoundingClientRect().height, line: parseFloat(getComputedStyle(l).lineHeight) };",
            json!([cc]),
        );
        let (h, line) = (
            label["h"].as_f64().unwrap(),
            label["line"].as_f64().unwrap(),
        );
        assert!(h < line * 1.5, "one line at {width}×{height}: {label}");
    }

    // A notice appears while the barista's finger is over +1: +1 stays where it was.
    let top = |c: &Counter| -> Value {
        c.page.execute(
            "return Math.round(document.querySelector(`#cc-${arguments[0]} .plus-one`).getBoundingClientRect().top);",
            json!([cc]),
        )
    };
    c.page.execute("window.scrollTo(0, 0);", json!([]));
    let before = top(&c);
    c.page.click("#edit-customer");
    c.page.click("#customer-form button[type=submit]");
    c.page.wait_for_text("#notice-text", "Details saved");
    c.page.execute("window.scrollTo(0, 0);", json!([]));
    assert_eq!(top(&c), before, "the notice moved +1");
    c.shot("45-notice-over-the-page-portrait");
}

#[test]
fn search_results_put_name_starts_first_and_take_names_in_any_order() {
    let Some(c) = counter("search_ranking") else {
        return;
    };
    for (first, last) in [
        ("Liam", "Carter"),
        ("Mason", "Williams"),
        ("Emma", "Thompson"),
    ] {
        c.app
            .create_customer(json!({"customer": {"first_name": first, "last_name": last,
            "email": format!("{}@example.com", first.to_lowercase())}}));
    }
    c.sign_in();
    c.page.type_into("#search", "liam");
    c.page.wait_until("Liam before Mason", || {
        (names_listed(&c) == ["Liam Carter", "Mason Williams"]).then_some(())
    });
    c.page.replace_text("#search", "thompson emma");
    c.page.wait_until("Emma Thompson found", || {
        (names_listed(&c) == ["Emma Thompson"]).then_some(())
    });
    c.page
        .replace_text("#search", &format!("thompson emma{ENTER}"));
    c.page.wait_for_text("#customer-name", "Emma Thompson");
}
