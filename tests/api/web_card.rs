//! The public web card page `GET /c/<uuid>`: stamps as filled and empty icons, store and
//! card names (escaped), template colours, available rewards, the card code as a QR code
//! that really decodes to it (rasterised from the inline SVG and read with `rqrr`) and as
//! a Code 128 barcode, security headers, and a 404 page for unknown cards.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use crate::qr::decode_qr;
use crate::support::app::*;

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn unique() -> usize {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Creates a card template with `attrs`; its JSON.
fn card(app: &TestApp, attrs: Value) -> Value {
    let mut a = json!({"name": format!("Coffee {}", unique())});
    a.as_object_mut()
        .unwrap()
        .extend(attrs.as_object().unwrap().clone());
    app.create_card(a)
}

/// Enrols a new customer in `card_id`; the customer card JSON.
fn enrol(app: &TestApp, card_id: i64) -> (i64, Value) {
    let n = unique();
    let c = app.create_customer(json!({
        "customer": {"first_name": "Ann", "last_name": "Lee", "email": format!("web{n}@example.com")},
        "card_id": card_id,
    }));
    (
        c["id"].as_i64().expect("customer id"),
        c["customer_card"].clone(),
    )
}

fn stamp(app: &TestApp, customer: i64, cc: &Value, stamps: i64) {
    let r = app.post(
        &app.store_path(&format!(
            "/customers/{customer}/customer_cards/{}/stamp",
            cc["id"]
        )),
        &json!({ "stamps": stamps }),
    );
    assert_eq!(r.status, 200, "stamp: {}", r.text);
}

fn reward(app: &TestApp, card_id: i64, name: &str, stamps_required: i64) -> i64 {
    let r = app.post(
        &app.store_path("/rewards"),
        &json!({"reward": {"card_id": card_id, "name": name, "stamps_required": stamps_required}}),
    );
    assert_eq!(r.status, 201, "create reward: {}", r.text);
    r.body["id"].as_i64().expect("reward id")
}

/// The page, fetched without any token.
fn page(app: &TestApp, uuid: &str) -> Resp {
    app.request("GET", &format!("/c/{uuid}"), None, None, None)
}

fn uuid(cc: &Value) -> String {
    cc["uuid"].as_str().expect("uuid").to_string()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The inner HTML of the first `<tag ...marker...>` element (no nesting of the same tag).
fn element<'a>(html: &'a str, tag: &str, marker: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = html[from..].find(&open) {
        let start = from + i;
        let tag_end = start + html[start..].find('>')?;
        if html[start..tag_end].contains(marker) {
            let close = format!("</{tag}>");
            let end = tag_end + html[tag_end..].find(&close)?;
            return Some(&html[tag_end + 1..end]);
        }
        from = tag_end;
    }
    None
}

fn assert_security_headers(r: &Resp) {
    let csp = r
        .header("Content-Security-Policy")
        .unwrap_or_else(|| panic!("a Content-Security-Policy header: {:?}", r.headers));
    assert!(csp.contains("default-src"), "CSP: {csp}");
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("script-src *"),
        "CSP: {csp}"
    );
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    let frames_denied = r
        .header("X-Frame-Options")
        .is_some_and(|v| v.eq_ignore_ascii_case("DENY") || v.eq_ignore_ascii_case("SAMEORIGIN"))
        || csp.contains("frame-ancestors");
    assert!(frames_denied, "framing is restricted: {:?}", r.headers);
    let ct = r.header("Content-Type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "Content-Type: {ct}");
}

/// The inline SVG inside `<div class="qr" ...>`.
fn qr_svg(html: &str) -> &str {
    let div = element(html, "div", "class=\"qr\"").expect("a <div class=\"qr\">");
    let i = div.find("<svg").expect("an inline <svg> in the qr div");
    &div[i..]
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

#[test]
fn the_page_shows_filled_and_empty_stamps() {
    let app = spawn_app();
    let c = card(&app, json!({"stamps_required": 8, "initial_stamps": 3}));
    let (customer, cc) = enrol(&app, c["id"].as_i64().unwrap());

    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(count(&r.text, "class=\"stamp filled\""), 3, "{}", r.text);
    assert_eq!(count(&r.text, "class=\"stamp empty\""), 5, "{}", r.text);
    assert!(r.text.contains("data-stamps=\"3\""), "{}", r.text);

    stamp(&app, customer, &cc, 1);
    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200);
    assert_eq!(count(&r.text, "class=\"stamp filled\""), 4, "{}", r.text);
    assert_eq!(count(&r.text, "class=\"stamp empty\""), 4, "{}", r.text);
    let progress = element(&r.text, "p", "class=\"progress\"").expect("a progress line");
    assert!(progress.contains('4'), "progress: {progress}");
    assert!(r.text.contains("data-stamps=\"4\""), "{}", r.text);
}

#[test]
fn the_page_follows_corrections_down_to_no_stamps() {
    let app = spawn_app();
    let c = card(&app, json!({"stamps_required": 5, "initial_stamps": 2}));
    let (customer, cc) = enrol(&app, c["id"].as_i64().unwrap());
    stamp(&app, customer, &cc, -2);
    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200);
    assert_eq!(count(&r.text, "class=\"stamp filled\""), 0, "{}", r.text);
    assert_eq!(count(&r.text, "class=\"stamp empty\""), 5, "{}", r.text);
    assert!(r.text.contains("data-stamps=\"0\""), "{}", r.text);
}

#[test]
fn the_page_shows_store_and_card_names_escaped_and_the_colours() {
    let app = spawn_app();
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": "Ann & Lee <Roasters>"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let c = card(
        &app,
        json!({"name": "<b>Coffee</b>", "card_color": "#12AB34", "text_color": "#FEDCBA"}),
    );
    let (_, cc) = enrol(&app, c["id"].as_i64().unwrap());
    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("&lt;b&gt;Coffee&lt;/b&gt;"), "{}", r.text);
    assert!(!r.text.contains("<b>Coffee</b>"), "card name not escaped");
    assert!(
        r.text.contains("Ann &amp; Lee &lt;Roasters&gt;"),
        "store name escaped: {}",
        r.text
    );
    assert!(!r.text.contains("<Roasters>"), "store name not escaped");
    let lower = r.text.to_ascii_lowercase();
    assert!(lower.contains("#12ab34"), "card colour: {}", r.text);
    assert!(lower.contains("#fedcba"), "text colour: {}", r.text);
}

#[test]
fn the_page_lists_the_rewards_that_are_available() {
    let app = spawn_app();
    let c = card(&app, json!({"stamps_required": 8, "initial_stamps": 3}));
    let card_id = c["id"].as_i64().unwrap();
    reward(&app, card_id, "Tea & Cake", 4);
    reward(&app, card_id, "Free Lunch", 8);
    let retired = reward(&app, card_id, "Old Muffin", 2);
    let r = app.patch(
        &app.store_path(&format!("/rewards/{retired}")),
        &json!({"reward": {"active": false}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let (customer, cc) = enrol(&app, card_id);

    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200);
    let section = element(&r.text, "section", "class=\"rewards\"").unwrap_or("");
    assert!(!section.contains("Tea"), "not yet available: {section}");

    stamp(&app, customer, &cc, 1);
    let r = page(&app, &uuid(&cc));
    let section =
        element(&r.text, "section", "class=\"rewards\"").expect("a rewards section at 4 stamps");
    assert!(section.contains("Tea &amp; Cake"), "{section}");
    assert!(!section.contains("Free Lunch"), "needs 8 stamps: {section}");
    assert!(!section.contains("Old Muffin"), "inactive: {section}");
    assert!(!r.text.contains("Tea & Cake"), "reward name escaped");
}

#[test]
fn the_qr_code_decodes_to_the_card_code() {
    let app = spawn_app();
    let c = card(&app, json!({"stamps_required": 10}));
    let (_, cc) = enrol(&app, c["id"].as_i64().unwrap());
    let code = cc["code"].as_str().expect("card code").to_string();

    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .contains(&format!("<div class=\"qr\" data-code=\"{code}\"")),
        "{}",
        r.text
    );
    assert_eq!(decode_qr(qr_svg(&r.text)), code);

    let barcode = element(&r.text, "div", "class=\"barcode\"").expect("a barcode div");
    assert!(barcode.contains("<svg"), "the barcode is an inline SVG");
    assert!(barcode.contains("<rect"), "the barcode has bars");
    assert!(r.text.contains(&code), "the code is printed");
}

#[test]
fn each_card_gets_its_own_qr_code() {
    let app = spawn_app();
    let c = card(&app, json!({}));
    let card_id = c["id"].as_i64().unwrap();
    let (_, first) = enrol(&app, card_id);
    let (_, second) = enrol(&app, card_id);
    assert_ne!(first["code"], second["code"]);
    for cc in [&first, &second] {
        let r = page(&app, &uuid(cc));
        assert_eq!(r.status, 200);
        assert_eq!(decode_qr(qr_svg(&r.text)), cc["code"].as_str().unwrap());
    }
}

#[test]
fn the_page_is_public_and_sends_security_headers() {
    let app = spawn_app();
    let c = card(&app, json!({}));
    let (_, cc) = enrol(&app, c["id"].as_i64().unwrap());
    let r = page(&app, &uuid(&cc));
    assert_eq!(r.status, 200, "no token needed: {}", r.text);
    assert_security_headers(&r);
    assert!(!r.text.contains("<script"), "no scripts on the page");
}

#[test]
fn an_unknown_card_is_a_404_page() {
    let app = spawn_app();
    let r = page(&app, "00000000-0000-4000-8000-000000000000");
    assert_eq!(r.status, 404, "{}", r.text);
    assert_security_headers(&r);
    assert!(r.text.to_ascii_lowercase().contains("<html"), "{}", r.text);
    assert!(!r.text.contains("class=\"stamp"), "{}", r.text);

    let r = page(&app, "not-a-uuid");
    assert_eq!(r.status, 404, "{}", r.text);
}

#[test]
fn the_strip_band_and_the_cards_lines_show() {
    let app = spawn_app();
    let plain = card(
        &app,
        json!({"card_color": "#112233", "auxiliary_fields": []}),
    );
    let (_, cc) = enrol(&app, plain["id"].as_i64().unwrap());
    let r = page(&app, cc["uuid"].as_str().unwrap());
    assert_eq!(r.status, 200);
    assert!(
        !r.text.contains("class=\"strip\""),
        "no strip colour, no band"
    );
    assert!(!r.text.contains("class=\"lines\""));

    let striped = card(
        &app,
        json!({"card_color": "#112233", "strip_type": "color", "strip_color": "#F5B041",
            "strip_opacity": 60, "auxiliary_fields": ["Open 7–19", "<b>Oat</b> milk"]}),
    );
    let (_, cc) = enrol(&app, striped["id"].as_i64().unwrap());
    let r = page(&app, cc["uuid"].as_str().unwrap());
    assert_eq!(r.status, 200);
    // The strip colour at 60% over the card colour, behind the stamps.
    assert!(
        r.text
            .contains("<div class=\"strip\" style=\"--strip: #9A773B;\"><ul class=\"stamps\""),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "<ul class=\"lines\"><li>Open 7–19</li><li>&lt;b&gt;Oat&lt;/b&gt; milk</li></ul>"
        ),
        "{}",
        r.text
    );
}
