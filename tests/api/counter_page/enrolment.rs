//! No dead ends at enrolment: a customer without a card, or joining another card, gets
//! one with "Add a card"; an email or phone someone has already offers to open them;
//! and what the page says about card links is what will happen.

use serde_json::json;

use super::{coffee_card, counter, id};

#[test]
fn add_a_card_for_a_customer_without_one_and_a_second_card() {
    let Some(c) = counter("add_a_card") else {
        return;
    };
    let coffee = coffee_card(&c.app);
    let cake = c
        .app
        .create_card(json!({"name": "Cake card", "stamps_required": 5}));
    let ann = c.app.create_customer(
        json!({"customer": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}}),
    );
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.page.wait_for_text("#customer-cards", "no card yet");

    c.page.click("#add-card");
    c.page.click(&format!(
        "#add-card-card_id option[value='{}']",
        id(&coffee)
    ));
    c.shot("43-add-a-card");
    c.page.click("#add-card-submit");
    let qr = c.page.wait_for("#customer-welcome .cc-qr img");
    assert!(c
        .page
        .attribute(&qr, "src")
        .unwrap_or_default()
        .ends_with("/qr.svg"));
    let cards = c
        .app
        .get_ok(&c.app.store_path(&format!("/customers/{}", id(&ann))))["customer_cards"]
        .clone();
    assert_eq!(cards.as_array().unwrap().len(), 1);
    assert_eq!(cards[0]["card_id"], coffee["id"]);
    c.wait_for_stamps(id(&cards[0]), 1);

    // The second card: only the cards Ann does not hold are offered.
    c.page.click("#add-card");
    let only_cake = json!([[id(&cake).to_string(), "Cake card (5 stamps)"]]);
    c.page.wait_until("only the Cake card, without 'card card'", || {
        let offered = c.page.execute(
            "return document.getElementById('add-card-form').hidden ? null : \
             Array.from(document.querySelectorAll('#add-card-card_id option'), (o) => [o.value, o.textContent]);",
            json!([]),
        );
        (offered == only_cake).then_some(())
    });
    c.page.click("#add-card-submit");
    c.page.wait_until("two cards on screen", || {
        (c.page.find_all("#customer-cards section.cc").len() == 2).then_some(())
    });
    let shown = c
        .app
        .get_ok(&c.app.store_path(&format!("/customers/{}", id(&ann))));
    assert_eq!(shown["customer_cards"].as_array().unwrap().len(), 2);

    // Enrolling Ann again by mistake offers to open her instead.
    c.page.click("a[data-nav=enrol]");
    c.page.wait_for("#enrol-first_name");
    c.page.type_into("#enrol-first_name", "Ann");
    c.page.type_into("#enrol-email", "ANN@example.com");
    c.page.click("#enrol-submit");
    c.page
        .wait_for_text("#enrol-email-error", "has already been taken");
    c.page.click("#enrol-email-error button.open-existing");
    c.page.wait_for_text("#customer-name", "Ann Lee");
    assert!(c
        .page
        .current_url()
        .ends_with(&format!("#/customer/{}", id(&ann))));
    let all = c.app.get_ok(&c.app.store_path("/customers"));
    assert_eq!(all["pagination"]["count"], json!(1), "no second Ann");
}

#[test]
fn what_the_page_says_about_card_links_is_true() {
    let Some(c) = counter("card_link_truth") else {
        return;
    };
    let card = coffee_card(&c.app);
    c.sign_in();

    // Links point at 127.0.0.1 here: the owner is warned on the Find screen.
    let warning = c.page.wait_for(".link-warning:not([hidden])");
    assert!(c.page.text(&warning).contains("phones cannot open"));

    // Neither email nor SMS is set up: the page does not offer to send.
    c.page.click("a[data-nav=enrol]");
    c.page.wait_until("the checkbox to say why", || {
        c.page
            .text_of("label[for=enrol-send_card_links]")
            .contains("not set up")
            .then_some(())
    });
    let box_ = c.page.wait_for("#enrol-send_card_links");
    assert_eq!(c.page.property(&box_, "disabled"), json!(true));
    c.page.type_into("#enrol-first_name", "Bob");
    c.page.type_into("#enrol-email", "bob@example.com");
    c.page
        .click(&format!("#enrol-card_id option[value='{}']", id(&card)));
    c.page.click("#enrol-submit");
    c.page.wait_for_text("#customer-name", "Bob");
    let notice = c.page.text_of("#notice-text");
    assert!(!notice.contains("on its way"), "{notice}");
    assert!(notice.contains("show the QR code"), "{notice}");
    let qr = c.page.text_of("#customer-welcome .cc-qr");
    assert!(qr.contains("Phones cannot open this link"), "{qr}");
    c.shot("44-enrolled-without-email");
}
