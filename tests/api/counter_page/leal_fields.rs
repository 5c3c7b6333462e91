//! The counter page edits Leal's card and poster fields: a card's strip (type, colour,
//! preset, opacity) and its two extra lines, with the preview drawing them; and the
//! poster screen, which lists a store's posters with their signup links, creates and
//! changes them, activates and deactivates them and opens the printable poster.

use serde_json::{json, Value};

use super::{counter, counter_sized, id, Counter};

/// The colour a selector's background shows, as `[r, g, b]`, read by drawing it:
/// Chromium writes `color-mix()` results in more than one notation.
fn background(c: &Counter, css: &str) -> Value {
    c.page.execute(
        r#"
        const el = document.querySelector(arguments[0]);
        if (!el) return null;
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 1;
        const g = canvas.getContext('2d');
        g.fillStyle = getComputedStyle(el).backgroundColor;
        g.fillRect(0, 0, 1, 1);
        return Array.from(g.getImageData(0, 0, 1, 1).data.slice(0, 3));
        "#,
        json!([css]),
    )
}

fn select(c: &Counter, css: &str, value: &str) {
    c.page.click(&format!("{css} option[value='{value}']"));
}

#[test]
fn the_card_editor_edits_the_strip_and_the_extra_lines() {
    let Some(c) = counter("card_pass_fields") else {
        return;
    };
    let card = c
        .app
        .create_card(json!({"name": "Coffee", "stamp_icon": "coffee",
        "stamps_required": 8, "card_color": "#112233"}));
    let card_id = id(&card);
    c.sign_in();
    c.page.goto(&format!("{}/#/cards/{card_id}", c.app.base));
    c.page.wait_for_text("#card-title", "Edit card");
    assert_eq!(
        c.page
            .property(&c.page.wait_for("#card-strip_opacity"), "value"),
        json!("100")
    );
    assert!(
        c.page.find("#card-preview .face-strip").is_none(),
        "no colour, no strip"
    );

    // A colour strip at 60%: the preview lays it over the card colour.
    select(&c, "#card-strip_type", "color");
    c.page.replace_text("#card-strip_color", "#F5B041");
    c.page.replace_text("#card-strip_opacity", "60");
    c.page
        .wait_until("the preview to draw the strip at 60%", || {
            (background(&c, "#card-preview .face-strip") == json!([154, 119, 59])).then_some(())
        });
    c.page
        .wait_for_text("#card-strip-note", "over the card colour at this opacity");
    c.page.replace_text("#card-auxiliary_fields", "Open 7–19");
    c.page
        .replace_text("#card-auxiliary_fields_2", "Oat milk free");
    c.page
        .wait_for_text("#card-preview .face-line", "Oat milk free");

    // Out of range: the API's message beside the field; nothing saved.
    c.page.replace_text("#card-strip_opacity", "150");
    c.page.click("#card-save");
    c.page.wait_for_text(
        "#card-strip_opacity-error",
        "Strip opacity (%) must be less than or equal to 100",
    );
    let path = c.app.store_path(&format!("/cards/{card_id}"));
    assert_eq!(c.app.get_ok(&path)["strip_opacity"], json!(100));
    c.page.replace_text("#card-strip_opacity", "60");
    c.page.click("#card-save");
    c.page.wait_for_text("#card-form-saved", "Saved Coffee");
    let saved = c.app.get_ok(&path);
    assert_eq!(saved["strip_type"], json!("color"));
    assert_eq!(saved["strip_color"], json!("#F5B041"));
    assert_eq!(saved["strip_opacity"], json!(60));
    assert_eq!(
        saved["auxiliary_fields"],
        json!(["Open 7–19", "Oat milk free"])
    );
    for (width, height, name) in [(1280, 800, "landscape"), (768, 1024, "portrait")] {
        c.page.set_window_size(width, height);
        c.page.scroll_to(&c.page.wait_for("#card-strip_type"));
        c.shot(&format!("20-card-strip-{name}"));
        super::check_layout(&c.page, &format!("card editor with strip fields, {name}"));
    }
    c.page.set_window_size(1280, 800);

    // A preset: its own field, and the page says passes draw no artwork for it.
    select(&c, "#card-strip_type", "preset");
    c.page.wait_for("#card-strip_preset");
    assert!(!c
        .page
        .is_displayed(&c.page.find("#card-strip_color").unwrap()));
    c.page.wait_for_text("#card-strip-note", "no artwork");
    select(&c, "#card-strip_preset", "waves");
    c.page.replace_text("#card-auxiliary_fields", "");
    c.page.click("#card-save");
    c.page.wait_until("the preset to be saved", || {
        let card = c.app.get_ok(&path);
        (card["strip_type"] == json!("preset")).then_some(card)
    });
    let saved = c.app.get_ok(&path);
    assert_eq!(saved["strip_preset"], json!("waves"));
    assert_eq!(saved["strip_opacity"], json!(60));
    assert_eq!(saved["auxiliary_fields"], json!(["Oat milk free"]));
    assert!(c.page.find("#card-preview .face-strip").is_none());
}

/// The poster of the list item showing `title`.
fn poster_item(c: &Counter, title: &str) -> String {
    let item = c.page.wait_for_text("#posters-list li", title);
    let poster_id = c.page.attribute(&item, "data-poster-id").expect("an id");
    format!("#posters-list li[data-poster-id='{poster_id}']")
}

#[test]
fn posters_are_listed_created_changed_and_switched_on_and_off() {
    let Some(c) = counter_sized("posters_screen", 1280, 800) else {
        return;
    };
    let coffee = c
        .app
        .create_card(json!({"name": "Coffee Card", "stamps_required": 8}));
    c.app.create_reward(id(&coffee), "Free flat white", 8);
    let tea = c.app.create_card(json!({"name": "Tea Card"}));
    c.app.post_ok(
        &c.app.store_path("/posters"),
        json!({"poster": {"card_id": id(&tea), "title": "Tea lovers"}}),
    );
    c.sign_in();
    c.page.click("a[data-nav=posters]");
    c.page.wait_for_text("#posters-list li", "Tea lovers");

    // A new poster with the title left to stampd, asking for an email and a birthday.
    c.page.click("#new-poster");
    c.page.wait_for_text("#poster-form-title", "New poster");
    select(&c, "#poster-card_id", &id(&coffee).to_string());
    select(&c, "#poster-contact_collection_mode", "email_only");
    select(&c, "#poster-paper_size", "a5");
    assert_eq!(
        c.page
            .property(&c.page.wait_for("#poster-minimum_age"), "disabled"),
        json!(true),
        "an age needs the birthday"
    );
    c.page.click("label[for=poster-require_birthday]");
    c.page.replace_text("#poster-minimum_age", "18");
    c.page.replace_text("#poster-primary_color", "#1B4332");
    c.page.click("#poster-save");
    let title = "Collect 8 stamps for Free flat white";
    let item = poster_item(&c, title);
    let posters = c.app.get_ok(
        &c.app
            .store_path(&format!("/posters?card_id={}", id(&coffee))),
    );
    let poster = posters[0].clone();
    assert_eq!(poster["title"], json!(title));
    assert_eq!(poster["contact_collection_mode"], json!("email_only"));
    assert_eq!(poster["paper_size"], json!("a5"));
    assert_eq!(poster["require_birthday"], json!(true));
    assert_eq!(poster["minimum_age"], json!(18));
    assert_eq!(poster["primary_color"], json!("#1B4332"));
    assert_eq!(poster["active"], json!(true));
    // Its signup link and its printable poster, as the API gives them.
    let link = c.page.wait_for(&format!("{item} a.signup"));
    assert_eq!(
        c.page.attribute(&link, "href").as_deref(),
        poster["signup_url"].as_str()
    );
    assert_eq!(c.page.text(&link), poster["signup_url"].as_str().unwrap());
    let open = c.page.wait_for(&format!("{item} a.open"));
    assert_eq!(
        c.page.attribute(&open, "href").as_deref(),
        poster["display_url"].as_str()
    );
    assert!(c
        .page
        .text(&c.page.wait_for(&item))
        .contains("birthday, 18+"));

    // Changed: both contacts, the phone required, another age. A bad age is refused.
    c.page.click(&format!("{item} button.edit"));
    c.page.wait_for_text("#poster-form-title", "Edit poster");
    assert_eq!(
        c.page
            .property(&c.page.wait_for("#poster-card_id"), "disabled"),
        json!(true),
        "a poster stays with its card"
    );
    select(&c, "#poster-contact_collection_mode", "email_and_phone");
    c.page.click("label[for=poster-require_phone]");
    c.page.replace_text("#poster-minimum_age", "0");
    c.page.click("#poster-save");
    c.page.wait_for_text(
        "#poster-minimum_age-error",
        "Minimum age must be greater than or equal to 1",
    );
    c.page.replace_text("#poster-minimum_age", "21");
    c.page.replace_text("#poster-title", "Join the coffee club");
    c.page.click("#poster-save");
    let item = poster_item(&c, "Join the coffee club");
    let path = c.app.store_path(&format!("/posters/{}", poster["id"]));
    let changed = c.app.get_ok(&path);
    assert_eq!(changed["contact_collection_mode"], json!("email_and_phone"));
    assert_eq!(changed["require_phone"], json!(true));
    assert_eq!(changed["require_email"], json!(false));
    assert_eq!(changed["minimum_age"], json!(21));
    for (width, height, name) in [(1280, 800, "landscape"), (768, 1024, "portrait")] {
        c.page.set_window_size(width, height);
        c.page.click(&format!("{item} button.edit"));
        c.page.wait_for_text("#poster-form-title", "Edit poster");
        super::check_layout(&c.page, &format!("posters with the form, {name}"));
        c.shot(&format!("21-posters-form-{name}"));
        c.page.click("#poster-cancel");
        c.page.scroll_to(&c.page.wait_for("#posters-list li"));
        super::check_layout(&c.page, &format!("posters, {name}"));
        c.shot(&format!("22-posters-{name}"));
    }
    c.page.set_window_size(1280, 800);

    // Deactivated: the signup page takes no one, and the poster can't be opened.
    c.page.click(&format!("{item} button.toggle"));
    c.page.wait_for_text(&format!("{item} .badge"), "Inactive");
    assert_eq!(c.app.get_ok(&path)["active"], json!(false));
    assert!(c.page.find(&format!("{item} a.open")).is_none());
    let signup = c.app.get_page(
        changed["signup_url"]
            .as_str()
            .unwrap()
            .strip_prefix(&c.app.base)
            .unwrap(),
        &[],
    );
    assert_eq!(signup.status, 404);
    c.page.click(&format!("{item} button.toggle"));
    c.page.wait_for_text(&format!("{item} .badge"), "Active");
    assert_eq!(c.app.get_ok(&path)["active"], json!(true));

    // The list of one card.
    select(&c, "#posters-card", &id(&tea).to_string());
    c.page.wait_until("only the tea poster", || {
        let items = c.page.find_all("#posters-list li");
        (items.len() == 1 && c.page.text(&items[0]).contains("Tea lovers")).then_some(())
    });

    // Deleted, after a confirmation.
    let tea_item = poster_item(&c, "Tea lovers");
    c.page.click(&format!("{tea_item} button.delete"));
    c.page.wait_for_text("#confirm-title", "Delete Tea lovers?");
    c.page.click("#confirm-ok");
    c.page
        .wait_for_text("#posters-status", "No posters here yet");
    let left = c.app.get_ok(&c.app.store_path("/posters"));
    assert_eq!(left.as_array().map(Vec::len), Some(1));
}
