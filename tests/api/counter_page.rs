//! End-to-end tests of the counter page: each starts stampd, opens `/` in headless
//! Chromium over WebDriver and works the page as staff at the counter would, then checks
//! what the screen shows and what the API returns. Screenshots of the main screens go to
//! `target/screenshots/`.
//!
//! They need Debian's `chromium` and `chromium-driver`. Without them each browser test
//! says it was skipped and passes, unless `STAMPD_REQUIRE_BROWSER=1` demands a browser.

use std::path::Path;
use std::sync::MutexGuard;

use serde_json::{json, Value};
use stampd::domain::{limits, HexColor, StampIcon};

use crate::support::app::TestApp;
use crate::support::browser::{
    browser_available, corner_coffee, screenshot_dir, CHROMEDRIVER, CHROMIUM,
};
use crate::support::webdriver::{Driver, Session, ENTER};

mod enrolment;
mod leal_fields;
mod offline;
mod scan_and_taps;
mod small_points;
mod staff_screens;
mod webhooks_screen;

/// A stampd and a browser window on its counter page.
struct Counter {
    app: TestApp,
    page: Session,
    test: &'static str,
    _driver: Driver,
    _one_at_a_time: MutexGuard<'static, ()>,
}

/// A stampd and a browser at 1280×800, or `None` (after saying why) when this machine
/// has no Chromium and the run does not require one.
fn counter(test: &'static str) -> Option<Counter> {
    counter_sized(test, 1280, 800)
}

fn counter_sized(test: &'static str, width: u32, height: u32) -> Option<Counter> {
    counter_with(test, width, height, |_| {})
}

/// [`counter_sized`] with stampd's settings changed first.
fn counter_with(
    test: &'static str,
    width: u32,
    height: u32,
    tweak: impl FnOnce(&mut stampd::config::Settings),
) -> Option<Counter> {
    let guard = browser_available(test)?;
    let app = TestApp::start("Corner Coffee", |s, _| tweak(s));
    let driver = Driver::start(Path::new(CHROMEDRIVER));
    let page = driver.session(Path::new(CHROMIUM), width, height);
    Some(Counter {
        app,
        page,
        test,
        _driver: driver,
        _one_at_a_time: guard,
    })
}

impl Counter {
    fn open(&self) {
        self.page.goto(&format!("{}/", self.app.base));
    }

    /// Saves `target/screenshots/<name>.png`.
    fn shot(&self, name: &str) {
        self.page
            .screenshot(&screenshot_dir().join(format!("{name}.png")));
    }

    /// Signs in with the store's token the way staff do (one store: no choice to make).
    fn sign_in(&self) {
        self.open();
        self.page.type_into("#signin-token", &self.app.token);
        self.page.click("#signin-submit");
        self.page.wait_for("#search");
    }

    /// Finds a customer by typing in the search box and opens the one named `name`.
    fn open_customer(&self, query: &str, name: &str) {
        self.page.click("a[data-nav=find]");
        self.page.replace_text("#search", query);
        self.page.click_text("#results button", name);
        self.page.wait_for_text("#customer-name", name);
    }

    /// What the customer card's section on screen shows: its stamp count, its filled
    /// and empty stamp icons and its "n / m stamps" line, read in one go.
    fn card_on_screen(&self, cc_id: i64) -> Option<Value> {
        let v = self.page.execute(
            r#"
            const s = document.getElementById(`cc-${arguments[0]}`);
            if (!s) return null;
            return {
              stamps: Number(s.dataset.stamps),
              filled: s.querySelectorAll('.stamp.filled').length,
              slots: s.querySelectorAll('.stamp').length,
              line: s.querySelector('.face-count').textContent,
            };
            "#,
            json!([cc_id]),
        );
        (!v.is_null()).then_some(v)
    }

    fn stamps_on_screen(&self, cc_id: i64) -> i64 {
        self.card_on_screen(cc_id).expect("card on screen")["stamps"]
            .as_i64()
            .unwrap()
    }

    /// Waits until the card shows `n` stamps in all three ways.
    fn wait_for_stamps(&self, cc_id: i64, n: i64) {
        self.page
            .wait_until(&format!("card {cc_id} to show {n} stamps"), || {
                let v = self.card_on_screen(cc_id)?;
                let slots = v["slots"].as_i64()?;
                (v["stamps"] == json!(n)
                    && v["filled"] == json!(n.min(slots))
                    && v["line"] == json!(format!("{n} / {slots} stamps")))
                .then_some(())
            });
    }

    fn required(&self, cc_id: i64) -> i64 {
        self.card_on_screen(cc_id).expect("card on screen")["slots"]
            .as_i64()
            .unwrap()
    }

    /// Records every stamp and redeem request the page sends, and lets a test make the
    /// network drop answers (`__dropAnswers`) or fail outright (`__offline`).
    fn watch_writes(&self) {
        self.page.execute(
            r#"
            if (window.__sent) return;
            window.__sent = [];
            window.__dropAnswers = 0;
            window.__offline = false;
            const real = window.fetch.bind(window);
            window.fetch = async (url, opts = {}) => {
              const u = String(url);
              if ((opts.method || 'GET') === 'POST' && /\/(stamp|redeem)$/.test(u)) {
                window.__sent.push({ url: u, key: opts.headers['Idempotency-Key'] || null, body: opts.body });
                if (window.__offline) throw new TypeError('Failed to fetch');
                if (window.__dropAnswers > 0) {
                  window.__dropAnswers -= 1;
                  await real(url, opts);
                  throw new TypeError('Failed to fetch');
                }
              }
              return real(url, opts);
            };
            "#,
            json!([]),
        );
    }

    fn sent_writes(&self) -> Vec<Value> {
        self.page
            .execute("return window.__sent || [];", json!([]))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.shot(&format!("failed-{}", self.test));
        }
    }
}

fn coffee_card(app: &TestApp) -> Value {
    app.create_card(json!({
        "name": "Coffee",
        "stamp_icon": "coffee",
        "stamps_required": 8,
        "initial_stamps": 1
    }))
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

// ---------------------------------------------------------------- without a browser

#[test]
fn page_and_assets_are_served_embedded_with_security_headers() {
    let app = corner_coffee();
    let page = app.get_page("/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let html = page.text.clone();
    assert!(
        html.contains(r#"<script type="module" src="/assets/app.js"></script>"#),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains(" onclick="),
        "no inline script"
    );

    // Every module of web/, as the binary embeds it, and what stampd writes.
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut modules: Vec<String> = std::fs::read_dir(&web)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".js"))
        .collect();
    modules.sort();
    assert!(
        modules.len() > 1,
        "the page is split into modules: {modules:?}"
    );
    let mut assets: Vec<(String, &str, &str)> = modules
        .iter()
        .map(|m| (format!("/assets/{m}"), "text/javascript; charset=utf-8", ""))
        .collect();
    assets.extend([
        (
            "/assets/api.js".to_string(),
            "text/javascript; charset=utf-8",
            "Idempotency-Key",
        ),
        (
            "/assets/vocab.js".to_string(),
            "text/javascript; charset=utf-8",
            "export const STAMP_ICONS = ",
        ),
        (
            "/assets/app.css".to_string(),
            "text/css; charset=utf-8",
            ".plus-one",
        ),
        ("/assets/icon.svg".to_string(), "image/svg+xml", "<svg"),
    ]);
    for (path, content_type, marker) in &assets {
        let r = app.get_page(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(*content_type), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("content-security-policy"), Some(csp), "{path}");
        assert!(r.text.contains(marker), "{path}");
        let etag = r.header("etag").unwrap_or_default().to_string();
        assert!(!etag.is_empty(), "{path} has an ETag");
        let again = app.get_page(path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{path} revalidates");
        assert!(again.bytes.is_empty());
    }
    for m in &modules {
        assert_eq!(
            std::fs::read(web.join(m)).unwrap(),
            app.get_page(&format!("/assets/{m}"), &[]).bytes,
            "the binary serves web/{m} as it is"
        );
    }

    let missing = app.get_page("/assets/nothing.js", &[]);
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("Not found"));

    // The page calls only the public API: every path it names exists there.
    let js = app.get_page("/assets/api.js", &[]).text;
    for needle in ["fetch(`/api/v1${path}`", "'Idempotency-Key'"] {
        assert!(js.contains(needle), "api.js uses {needle}");
    }
}

#[test]
fn web_card_qr_code_encodes_the_web_card_link() {
    let app = corner_coffee();
    let card = coffee_card(&app);
    let customer = app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let uuid = customer["customer_card"]["uuid"].as_str().unwrap();
    let r = app.get_page(&format!("/c/{uuid}/qr.svg"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r
        .header("content-security-policy")
        .unwrap_or_default()
        .contains("default-src 'none'"));
    assert_eq!(decode_qr_svg(&r.text), format!("{}/c/{uuid}", app.base));

    let unknown = app.get_page("/c/00000000-0000-4000-8000-000000000000/qr.svg", &[]);
    assert_eq!(unknown.status, 404);
    assert_eq!(app.get_page("/c/not-a-uuid/qr.svg", &[]).status, 404);
}

/// Draws the QR code SVG that `qrcode` renders (unit squares in one path) into a
/// greyscale image and decodes it.
fn decode_qr_svg(svg: &str) -> String {
    let number = |s: &str, key: &str| -> usize {
        let start = s.find(key).expect(key) + key.len();
        s[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .expect("a number")
    };
    let width = number(svg, "width=\"");
    let height = number(svg, "height=\"");
    let d_start = svg.find(" d=\"").expect("a path") + 4;
    let d = &svg[d_start..d_start + svg[d_start..].find('"').unwrap()];
    let mut dark = vec![false; width * height];
    for square in d.split('M').filter(|s| !s.is_empty()) {
        // "x yhWvH...": a square at (x, y), W wide and H high.
        let (x, rest) = square.split_once(' ').expect("x y");
        let y: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let w = number(square, "h");
        let h = number(square, "v");
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        for yy in y..(y + h).min(height) {
            for xx in x..(x + w).min(width) {
                dark[yy * width + xx] = true;
            }
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark[y * width + x] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the SVG");
    grids[0].decode().expect("QR code decodes").1
}

// ---------------------------------------------------------------- in the browser

#[test]
fn sign_in_choose_a_store_stay_signed_in_and_sign_out() {
    let Some(c) = counter("sign_in") else { return };
    let (second_id, _) = c.app.new_store("Second Shop");
    let two_stores = c.app.token_for(&[c.app.store_id, second_id]);

    c.open();
    c.page.wait_for("#signin-token");
    assert_eq!(
        c.page.focused_id(),
        "signin-token",
        "the token field has the focus"
    );
    c.shot("01-sign-in");

    c.page.type_into("#signin-token", "stampd_not-a-real-token");
    c.page.click("#signin-submit");
    c.page.wait_for_text("#signin-error", "not accepted");
    let field = c.page.wait_for("#signin-token");
    assert_eq!(
        c.page.attribute(&field, "aria-invalid").as_deref(),
        Some("true")
    );

    c.page.replace_text("#signin-token", &two_stores);
    c.page.click("#signin-submit");
    c.page.wait_for_text("#store-list button", "Second Shop");
    let choices: Vec<String> = c
        .page
        .find_all("#store-list button")
        .iter()
        .map(|b| c.page.text(b))
        .collect();
    assert_eq!(choices, ["Corner Coffee", "Second Shop"]);
    c.shot("02-store-choice");
    c.page
        .click(&format!("#store-list button[data-store-id='{second_id}']"));

    c.page.wait_for("#search");
    assert_eq!(c.page.text_of("#store-name"), "Second Shop");
    assert_eq!(
        c.page.focused_id(),
        "search",
        "the search box has the focus"
    );
    let remembered = c.page.execute(
        "return JSON.parse(localStorage.getItem('stampd.counter.session'));",
        json!([]),
    );
    assert_eq!(remembered["token"], json!(two_stores));
    assert_eq!(remembered["storeId"], json!(second_id));

    // The device remembers the token and the store across a reload.
    c.page.refresh();
    c.page.wait_for("#search");
    assert_eq!(c.page.text_of("#store-name"), "Second Shop");

    // What the page shows is what the API says that token reaches.
    let stores = ureq::get(&format!("{}/api/v1/accounts", c.app.base))
        .set("Authorization", &format!("Bearer {two_stores}"))
        .call()
        .unwrap()
        .into_json::<Value>()
        .unwrap();
    let names: Vec<&str> = stores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["display_store_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Corner Coffee", "Second Shop"]);

    // Changing the store offers the same choice again.
    c.page.click("#change-store");
    c.page.click(&format!(
        "#store-list button[data-store-id='{}']",
        c.app.store_id
    ));
    c.page.wait_for_text("#store-name", "Corner Coffee");

    c.page.click("#sign-out");
    c.page.wait_for("#signin-token");
    assert!(c
        .page
        .find("#topbar")
        .is_some_and(|t| !c.page.is_displayed(&t)));
    let kept = c.page.execute(
        "return localStorage.getItem('stampd.counter.session');",
        json!([]),
    );
    assert_eq!(kept, Value::Null, "signing out forgets the token");
    c.page.refresh();
    c.page.wait_for("#signin-token");
}

#[test]
fn enrol_fix_a_validation_error_then_show_the_web_card_qr_code() {
    let Some(c) = counter("enrol") else { return };
    let card = coffee_card(&c.app);
    c.sign_in();

    c.page.click("a[data-nav=enrol]");
    c.page.wait_for("#enrol-first_name");
    assert_eq!(c.page.focused_id(), "enrol-first_name");
    c.page.type_into("#enrol-first_name", "Ann");
    c.page.type_into("#enrol-last_name", "Lee");
    c.page.type_into("#enrol-email", "ann.lee@");
    c.page.type_into("#enrol-phone", "+1 415 555 0132");
    c.page.type_into("#enrol-birthday", "03141990");
    c.page
        .click(&format!("#enrol-card_id option[value='{}']", id(&card)));
    c.page.click("#enrol-submit");

    // The API's 422 message appears next to the email field.
    let error = c.page.wait_for_text("#enrol-email-error", "is invalid");
    assert_eq!(c.page.text(&error), "Email is invalid");
    let email = c.page.wait_for("#enrol-email");
    assert_eq!(
        c.page.attribute(&email, "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        c.page.focused_id(),
        "enrol-email",
        "focus goes to the field to fix"
    );
    assert!(c.page.text_of("#enrol-form-error").contains("correct"));
    c.shot("03-enrol-validation-error");
    let none = c.app.get_ok(&c.app.store_path("/customers"));
    assert_eq!(none["pagination"]["count"], json!(0), "nothing was saved");

    c.page.replace_text("#enrol-email", "ann.lee@example.com");
    c.page.click("#enrol-submit");

    // The new customer's screen, with the QR code of the web card to scan right away.
    c.page.wait_for_text("#customer-name", "Ann Lee");
    let customers = c.app.get_ok(&c.app.store_path("/customers"));
    assert_eq!(customers["pagination"]["count"], json!(1));
    let customer = &customers["customers"][0];
    assert_eq!(customer["email"], json!("ann.lee@example.com"));
    assert_eq!(customer["phone"], json!("+14155550132"));
    assert_eq!(customer["birthday"], json!("1990-03-14"));
    let cc = &customer["customer_cards"][0];
    assert_eq!(cc["card_id"], card["id"]);
    assert_eq!(cc["stamps_count"], json!(1), "welcome stamp");
    let cc_id = id(cc);
    let uuid = cc["uuid"].as_str().unwrap();

    let contact = c.page.text_of("#customer-contact");
    assert!(contact.contains("ann.lee@example.com"), "{contact}");
    assert!(contact.contains("+1 415 555 0132"), "{contact}");
    c.wait_for_stamps(cc_id, 1);
    assert!(c
        .page
        .text_of(&format!("#cc-{cc_id} .face-code"))
        .contains(cc["code"].as_str().unwrap()));
    let qr = c.page.wait_for("#customer-welcome .cc-qr img");
    assert_eq!(
        c.page.attribute(&qr, "src").as_deref(),
        Some(format!("/c/{uuid}/qr.svg").as_str())
    );
    c.page.wait_until("the QR code image to load", || {
        (c.page.property(&qr, "naturalWidth").as_i64().unwrap_or(0) > 0).then_some(())
    });
    assert!(c
        .page
        .text_of("#customer-welcome .cc-qr")
        .contains(&format!("{}/c/{uuid}", c.app.base)));
    let svg = c.app.get_page(&format!("/c/{uuid}/qr.svg"), &[]).text;
    assert_eq!(decode_qr_svg(&svg), format!("{}/c/{uuid}", c.app.base));
    c.shot("04-new-customer-with-qr");

    // Neither email nor SMS is set up here: nothing was queued, and the page said so
    // (see enrolment::what_the_page_says_about_card_links_is_true).
    let deliveries = c.app.get_ok(&c.app.store_path("/deliveries"));
    assert_eq!(deliveries["pagination"]["count"], json!(0), "{deliveries}");
    let welcome = c.app.events(id(customer), cc_id);
    assert_eq!(welcome.len(), 1);
    assert_eq!(welcome[0]["kind"], json!("welcome_bonus"));

    // Editing the details: the API's message beside the field, then the saved change.
    c.page.click("#edit-customer");
    c.page.replace_text("#edit-phone", "12");
    c.page.click("#customer-form button[type=submit]");
    c.page
        .wait_for_text("#edit-phone-error", "Phone is invalid");
    assert_eq!(c.page.focused_id(), "edit-phone");
    c.page.replace_text("#edit-phone", "(415) 555-0199");
    c.page.replace_text("#edit-last_name", "Lee-Park");
    c.page.click("#customer-form button[type=submit]");
    c.page.wait_for_text("#customer-name", "Ann Lee-Park");
    c.page.wait_for_text("#customer-contact", "+1 415 555 0199");
    assert_eq!(c.page.focused_id(), "edit-customer");
    let edited = c
        .app
        .get_ok(&c.app.store_path(&format!("/customers/{}", id(customer))));
    assert_eq!(edited["last_name"], json!("Lee-Park"));
    assert_eq!(edited["phone"], json!("+14155550199"));
    assert_eq!(edited["email"], json!("ann.lee@example.com"));
}

#[test]
fn find_a_customer_by_typing_a_name_and_by_scanning_the_card_code() {
    let Some(c) = counter("find") else { return };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let bob = c.app.enrol("Bob", "Stone", "bob@example.com", id(&card));
    c.app.enrol("Anna", "Smith", "anna@example.com", id(&card));
    c.sign_in();

    // The newest customers are listed before anything is typed.
    c.page.wait_for_text("#find-status", "Newest customers");
    assert_eq!(c.page.find_all("#results button").len(), 3);

    c.page.type_into("#search", "lee");
    c.page.wait_until("only Ann Lee to match", || {
        let names: Vec<String> = c
            .page
            .find_all("#results button .who strong")
            .iter()
            .map(|e| c.page.text(e))
            .collect();
        (names == ["Ann Lee"]).then_some(())
    });
    c.page.wait_for_text("#find-status", "1 customer found");
    c.shot("05-find-by-name");
    let api = c.app.get_ok(&c.app.store_path("/customers?search=lee"));
    assert_eq!(api["pagination"]["count"], json!(1));
    assert_eq!(api["customers"][0]["id"], ann["id"]);

    // Arrow down and Enter open the result from the keyboard.
    c.page.type_into("#search", webdriver_key_down());
    c.page.wait_until("the result to have the focus", || {
        c.page
            .execute(
                "return document.activeElement.dataset.customerId || null;",
                json!([]),
            )
            .as_str()
            .map(str::to_string)
    });
    c.page.keyboard(ENTER);
    c.page.wait_for_text("#customer-name", "Ann Lee");
    assert!(c
        .page
        .current_url()
        .ends_with(&format!("#/customer/{}", id(&ann))));

    // A barcode scanner types the code and Enter: Bob opens at once, no list in between.
    c.page.click("a[data-nav=find]");
    c.page.wait_for("#search");
    assert_eq!(c.page.focused_id(), "search");
    let bob_code = bob["customer_card"]["code"].as_str().unwrap();
    c.page.keyboard(&format!("{bob_code}{ENTER}"));
    c.page.wait_for_text("#customer-name", "Bob Stone");
    assert!(c
        .page
        .current_url()
        .ends_with(&format!("#/customer/{}", id(&bob))));
    let bob_cc = bob["customer_card"]["id"].as_i64().unwrap();
    let section = c.page.wait_for(&format!("#cc-{bob_cc}"));
    assert!(c
        .page
        .attribute(&section, "class")
        .unwrap_or_default()
        .contains("highlight"));

    // A scan works from the customer screen too: the keys go to the search box.
    let ann_code = ann["customer_card"]["code"].as_str().unwrap();
    c.page.click(&format!("#cc-{bob_cc} .plus-one"));
    c.wait_for_stamps(bob_cc, 2);
    c.page
        .keyboard(&format!("{}{ENTER}", ann_code.to_lowercase()));
    c.page.wait_for_text("#customer-name", "Ann Lee");

    // What the screen showed is what the API has.
    let shown = c
        .app
        .get_ok(&c.app.store_path(&format!("/customers/{}", id(&bob))));
    assert_eq!(shown["first_name"], json!("Bob"));
    assert_eq!(shown["customer_cards"][0]["code"], json!(bob_code));
    assert_eq!(shown["customer_cards"][0]["stamps_count"], json!(2));
    let by_code = c
        .app
        .get_ok(&c.app.store_path(&format!("/customers?search={bob_code}")));
    assert_eq!(by_code["customers"][0]["id"], bob["id"]);

    // A code nobody has says so.
    c.page.click("a[data-nav=find]");
    c.page.replace_text("#search", &format!("ACDEFGHJ{ENTER}"));
    c.page.wait_for_text("#find-status", "No customer matches");
}

fn webdriver_key_down() -> &'static str {
    "\u{E015}"
}

#[test]
fn stamp_three_times_redeem_a_reward_and_undo_a_stamp() {
    let Some(c) = counter("stamp") else { return };
    let card = c
        .app
        .create_card(json!({"name": "Coffee", "stamp_icon": "coffee", "stamps_required": 8}));
    let reward = c.app.create_reward(id(&card), "Free coffee", 3);
    c.app.create_reward(id(&card), "Free cake", 6);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let (cid, cc) = (id(&ann), ann["customer_card"]["id"].as_i64().unwrap());
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.watch_writes();
    c.wait_for_stamps(cc, 0);
    assert_eq!(c.required(cc), 8);
    // The template's icon, once the store's cards are loaded (the first drawing of a
    // customer from the list may come before them).
    c.page
        .wait_for_text(&format!("#cc-{cc} .stamp.empty"), "☕");
    assert!(c.page.find(&format!("#cc-{cc} .redeem")).is_none());

    // Taps a second apart: closer ones are one tap (see scan_and_taps).
    for n in 1..=3 {
        c.page.click(&format!("#cc-{cc} .plus-one"));
        c.wait_for_stamps(cc, n);
        std::thread::sleep(std::time::Duration::from_millis(900));
    }
    assert_eq!(
        c.page.execute(
            "return document.activeElement.classList.contains('plus-one');",
            json!([])
        ),
        json!(true),
        "+1 keeps the focus for the next press"
    );
    c.page
        .wait_for_text(&format!("#cc-{cc} .cc-ledger li"), "Stamp");
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(3));
    let events = c.app.events(cid, cc);
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .all(|e| e["kind"] == json!("stamp") && e["stamps"] == json!(1)));
    let keys: Vec<String> = c
        .sent_writes()
        .iter()
        .map(|w| w["key"].as_str().expect("an Idempotency-Key").to_string())
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
    c.page
        .wait_until("the ledger to list the three stamps", || {
            (c.page
                .find_all(&format!("#cc-{cc} .cc-ledger li[data-kind=stamp]"))
                .len()
                == 3)
                .then_some(())
        });
    c.shot("06-customer-three-stamps");

    // The reward the card can now pay for, with a confirmation before redeeming.
    let redeem = format!("#cc-{cc} .redeem[data-reward-id='{}']", id(&reward));
    c.page.click(&redeem);
    c.page.wait_for_text("#confirm", "Redeem Free coffee?");
    assert!(c.page.text_of("#confirm-text").contains("3 → 0"));
    c.shot("07-redeem-confirmation");
    c.page.click("#confirm-cancel");
    c.page.wait_until("the dialog to close", || {
        c.page.find("#confirm").filter(|d| !c.page.is_displayed(d))
    });
    assert_eq!(
        c.app.customer_card(cid, cc)["stamps_count"],
        json!(3),
        "cancel redeems nothing"
    );

    c.page.click(&redeem);
    c.page.click("#confirm-ok");
    c.wait_for_stamps(cc, 0);
    c.page
        .wait_for_text(&format!("#cc-{cc} .ops"), "Redeemed Free coffee");
    c.page.wait_for_text(
        &format!("#cc-{cc} .cc-ledger li[data-kind=redemption]"),
        "Free coffee",
    );
    let after = c.app.events(cid, cc);
    assert_eq!(after[0]["kind"], json!("redemption"));
    assert_eq!(after[0]["reward_id"], reward["id"]);
    assert_eq!(after[0]["stamps"], json!(-3));
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(0));

    // Give a stamp, then undo it: a correction in the ledger, not a deletion.
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.wait_for_stamps(cc, 1);
    c.page.click_text(&format!("#cc-{cc} .undo"), "Undo +1");
    c.wait_for_stamps(cc, 0);
    c.page.wait_for_text(
        &format!("#cc-{cc} .cc-ledger li[data-kind=adjustment]"),
        "Correction",
    );
    assert!(
        c.page.find(&format!("#cc-{cc} .undo")).is_none(),
        "nothing more to undo"
    );
    let ledger = c.app.events(cid, cc);
    assert_eq!(ledger[0]["kind"], json!("adjustment"));
    assert_eq!(ledger[0]["stamps"], json!(-1));
    assert_eq!(ledger[0]["balance_after"], json!(0));
    assert_eq!(ledger[1]["kind"], json!("stamp"));
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(0));

    // Several stamps at once, typed and given from the keyboard.
    c.page
        .replace_text(&format!("#cc-{cc}-several"), &format!("4{ENTER}"));
    c.wait_for_stamps(cc, 4);
    c.page.wait_for_text(&format!("#cc-{cc} .undo"), "Undo +4");
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(4));
    assert_eq!(c.app.events(cid, cc)[0]["stamps"], json!(4));

    // Removing stamps by mistake given earlier asks first, then books a correction.
    c.page.replace_text(&format!("#cc-{cc}-several"), "3");
    c.page.click(&format!("#cc-{cc} .several button.danger"));
    c.page.wait_for_text("#confirm-title", "Remove 3 stamps?");
    assert!(c.page.text_of("#confirm-text").contains("from 4 to 1"));
    c.page.click("#confirm-ok");
    c.wait_for_stamps(cc, 1);
    let correction = &c.app.events(cid, cc)[0];
    assert_eq!(correction["kind"], json!("adjustment"));
    assert_eq!(correction["stamps"], json!(-3));
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(1));

    // Every stamp and redeem request carried its own key.
    let sent = c.sent_writes();
    assert_eq!(sent.len(), 8, "{sent:?}");
    let mut keys: Vec<&str> = sent.iter().map(|w| w["key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 8);
}

#[test]
fn a_flaky_network_never_gives_double_stamps_and_failures_show() {
    let Some(c) = counter("flaky_network") else {
        return;
    };
    let card = coffee_card(&c.app);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let (cid, cc) = (id(&ann), ann["customer_card"]["id"].as_i64().unwrap());
    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.wait_for_stamps(cc, 1);
    c.watch_writes();

    // stampd stamps, but the answer is lost on the way back: the page retries with the
    // same Idempotency-Key and gets the stored answer.
    c.page.execute("window.__dropAnswers = 1;", json!([]));
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.wait_for_stamps(cc, 2);
    let sent = c.sent_writes();
    assert_eq!(sent.len(), 2, "one retry: {sent:?}");
    assert_eq!(sent[0]["key"], sent[1]["key"]);
    assert_eq!(sent[0]["body"], sent[1]["body"]);
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(2));
    let stamps: Vec<Value> = c
        .app
        .events(cid, cc)
        .into_iter()
        .filter(|e| e["kind"] == json!("stamp"))
        .collect();
    assert_eq!(stamps.len(), 1, "exactly one stamp was recorded");

    // No connection at all: the request shows as pending, then failed with a retry.
    std::thread::sleep(std::time::Duration::from_millis(900));
    c.page.execute("window.__offline = true;", json!([]));
    c.page.click(&format!("#cc-{cc} .plus-one"));
    c.page.wait_until("the request to show as pending", || {
        c.page.find(&format!(
            "#cc-{cc} .ops li[data-state=sending], #cc-{cc} .ops li[data-state=retrying]"
        ))
    });
    assert!(c.page.text_of("#pending-link").contains("pending"));
    let failed = c
        .page
        .wait_for(&format!("#cc-{cc} .ops li[data-state=failed]"));
    assert!(c.page.text(&failed).contains("did not get through"));
    assert!(c
        .page
        .text_of("#pending-link")
        .contains("waiting for stampd"));
    assert_eq!(c.stamps_on_screen(cc), 2);
    c.shot("08-stamp-failed");
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(2));

    // Back online: it goes by itself, with the same key, once.
    c.page.execute("window.__offline = false;", json!([]));
    c.wait_for_stamps(cc, 3);
    let sent = c.sent_writes();
    let keys: Vec<&str> = sent[2..]
        .iter()
        .map(|w| w["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.len() >= 2 && keys.iter().all(|k| *k == keys[0]),
        "{keys:?}"
    );
    assert_eq!(c.app.customer_card(cid, cc)["stamps_count"], json!(3));
    c.page.wait_until("the pending badge to go", || {
        c.page
            .find("#pending-link")
            .filter(|l| !c.page.is_displayed(l))
    });
}

#[test]
fn edit_a_card_template_with_live_preview_and_manage_its_rewards() {
    let Some(c) = counter("cards") else { return };
    let card = c
        .app
        .create_card(json!({"name": "Coffee", "stamp_icon": "coffee", "stamps_required": 10}));
    let card_id = id(&card);
    c.app.enrol("Ann", "Lee", "ann@example.com", card_id);
    c.sign_in();

    c.page.click("a[data-nav=cards]");
    let item = c.page.wait_for_text(
        &format!("#cards-active li[data-card-id='{card_id}']"),
        "Coffee",
    );
    assert!(c.page.text(&item).contains("1 customer"));
    c.shot("09-cards");
    c.page
        .click(&format!("#cards-active a[href='#/cards/{card_id}']"));
    c.page.wait_for_text("#card-title", "Edit card");
    c.page.wait_for_text("#card-preview .face-name", "Coffee");

    // The preview follows every change before anything is saved.
    c.page.replace_text("#card-name", "Coffee Club");
    c.page
        .wait_for_text("#card-preview .face-name", "Coffee Club");
    c.page.replace_text("#card-stamps_required", "8");
    c.page.wait_until("the preview to draw 8 stamps", || {
        (c.page.find_all("#card-preview .stamp").len() == 8).then_some(())
    });
    c.page.click("#card-stamp_icon option[value=heart]");
    c.page.wait_for_text("#card-preview .stamp", "♥");
    c.page.replace_text("#card-card_color", "#112233");
    c.page.wait_until("the preview to take the colour", || {
        (c.page.execute(
            "return getComputedStyle(document.querySelector('#card-preview .face')).backgroundColor;",
            json!([]),
        ) == json!("rgb(17, 34, 51)"))
        .then_some(())
    });
    c.page
        .replace_text("#card-header_text", "Every 8th coffee is on us");
    c.page
        .wait_for_text("#card-preview .face-header", "Every 8th coffee is on us");
    c.page
        .replace_text("#card-stamp_message", "{remaining} more to a free coffee");
    assert_eq!(
        c.app
            .get_ok(&c.app.store_path(&format!("/cards/{card_id}")))["name"],
        json!("Coffee")
    );

    // A bad value gets the API's message beside the field.
    c.page.replace_text("#card-initial_stamps", "9");
    c.page.click("#card-save");
    c.page
        .wait_for_text("#card-initial_stamps-error", "Welcome stamps must be");
    c.page.replace_text("#card-initial_stamps", "1");
    c.page.click("#card-save");
    c.page
        .wait_for_text("#card-form-saved", "Saved Coffee Club");
    c.shot("10-card-editor");
    let saved = c
        .app
        .get_ok(&c.app.store_path(&format!("/cards/{card_id}")));
    assert_eq!(saved["name"], json!("Coffee Club"));
    assert_eq!(saved["stamps_required"], json!(8));
    assert_eq!(saved["initial_stamps"], json!(1));
    assert_eq!(saved["stamp_icon"], json!("heart"));
    assert_eq!(saved["card_color"], json!("#112233"));
    assert_eq!(saved["header_text"], json!("Every 8th coffee is on us"));
    assert_eq!(
        saved["stamp_message"],
        json!("{remaining} more to a free coffee")
    );

    // Rewards: add, edit, delete.
    c.page.wait_for_text("#rewards-status", "No rewards yet");
    c.page.type_into("#reward-name", "Free muffin");
    c.page
        .type_into("#reward-stamps_required", &format!("5{ENTER}"));
    let row = c.page.wait_for_text("#rewards-list li", "Free muffin");
    let reward_id: i64 = c
        .page
        .attribute(&row, "data-reward-id")
        .unwrap()
        .parse()
        .unwrap();
    let rewards = c
        .app
        .get_ok(&c.app.store_path(&format!("/rewards?card_id={card_id}")));
    assert_eq!(rewards.as_array().unwrap().len(), 1);
    assert_eq!(rewards[0]["name"], json!("Free muffin"));
    assert_eq!(rewards[0]["stamps_required"], json!(5));

    c.page.click(&format!(
        "#rewards-list li[data-reward-id='{reward_id}'] button.secondary"
    ));
    c.page.wait_for_text("#reward-form-title", "Edit reward");
    c.page.replace_text("#reward-name", "Free blueberry muffin");
    c.page.click("#reward-save");
    c.page
        .wait_for_text("#rewards-list li", "Free blueberry muffin");
    let edited = c
        .app
        .get_ok(&c.app.store_path(&format!("/rewards/{reward_id}")));
    assert_eq!(edited["name"], json!("Free blueberry muffin"));

    c.page.click(&format!(
        "#rewards-list li[data-reward-id='{reward_id}'] button.danger"
    ));
    c.page
        .wait_for_text("#confirm-title", "Delete Free blueberry muffin?");
    c.page.click("#confirm-ok");
    c.page.wait_for_text("#rewards-status", "No rewards yet");
    let status = c
        .app
        .get(&c.app.store_path(&format!("/rewards/{reward_id}")))
        .status;
    assert_eq!(status, 404);

    // Archive and restore.
    c.page.click("#card-archive");
    c.page
        .wait_for_text("#confirm-title", "Archive Coffee Club?");
    c.page.click("#confirm-ok");
    c.page.wait_for_text("#card-archive", "Restore card");
    let archived = c
        .app
        .get_ok(&c.app.store_path(&format!("/cards/{card_id}")));
    assert!(archived["archived_at"].is_string());
    c.page.click("a[data-nav=cards]");
    c.page.wait_for_text(
        &format!("#cards-archived li[data-card-id='{card_id}']"),
        "Coffee Club",
    );
    c.page.click(&format!(
        "#cards-archived li[data-card-id='{card_id}'] button"
    ));
    c.page.wait_for_text(
        &format!("#cards-active li[data-card-id='{card_id}']"),
        "Coffee Club",
    );
    let restored = c
        .app
        .get_ok(&c.app.store_path(&format!("/cards/{card_id}")));
    assert_eq!(restored["archived_at"], Value::Null);

    // A new card from scratch.
    c.page.click("#new-card");
    c.page.wait_for_text("#card-title", "New card");
    c.page.replace_text("#card-name", "Haircuts");
    c.page.replace_text("#card-stamps_required", "5");
    c.page.click("#card-stamp_icon option[value=scissors]");
    c.page.click("#card-save");
    c.page.wait_for_text("#card-form-saved", "Created Haircuts");
    let cards = c.app.get_ok(&c.app.store_path("/cards"));
    let haircuts = cards
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == json!("Haircuts"))
        .expect("the new card");
    assert_eq!(haircuts["stamps_required"], json!(5));
    assert_eq!(haircuts["stamp_icon"], json!("scissors"));
}

/// Checks what the page shows at one window size: nothing wider than the screen, every
/// control at least 44×44 px, and every control named for screen readers.
fn check_layout(page: &Session, screen: &str) {
    let problems = page.execute(
        r#"
        const problems = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth + 1) problems.push(`page is ${root.scrollWidth}px wide in a ${root.clientWidth}px window`);
        const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
        for (const el of document.querySelectorAll('button, a[href], input, select, textarea')) {
          if (!shown(el) || el.closest('.skip')) continue;
          const r = el.getBoundingClientRect();
          const what = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${(el.textContent || el.value || '').trim().slice(0, 30)}"`;
          const checkbox = el.type === 'checkbox';
          const target = checkbox && el.labels.length ? el.labels[0].getBoundingClientRect() : r;
          if (target.height < 44 || (!checkbox && r.width < 44)) problems.push(`${what} is ${Math.round(r.width)}×${Math.round(r.height)}`);
          const named = el.getAttribute('aria-label') || (el.labels && el.labels.length) || (el.textContent || '').trim() || el.getAttribute('aria-labelledby');
          if (!named) problems.push(`${what} has no label`);
        }
        return problems;
        "#,
        json!([]),
    );
    assert_eq!(problems, json!([]), "{screen}");
}

#[test]
fn every_screen_fits_portrait_and_landscape_with_big_labelled_targets() {
    let Some(c) = counter_sized("layout", 768, 1024) else {
        return;
    };
    let card = coffee_card(&c.app);
    c.app.create_reward(id(&card), "Free coffee", 1);
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&card));
    let cc = ann["customer_card"]["id"].as_i64().unwrap();

    for (width, height, orientation) in [(768, 1024, "portrait"), (1280, 800, "landscape")] {
        c.page.set_window_size(width, height);
        c.open();
        c.page.wait_for("#signin-token");
        check_layout(&c.page, &format!("sign-in, {orientation}"));
        c.page.type_into("#signin-token", &c.app.token);
        c.page.click("#signin-submit");
        c.page.wait_for_text("#results button", "Ann Lee");
        check_layout(&c.page, &format!("find, {orientation}"));
        c.shot(&format!("11-find-{orientation}"));

        c.page.click("#results button");
        c.wait_for_stamps(cc, 1);
        c.page.wait_for(&format!("#cc-{cc} .redeem"));
        c.page.click(&format!("#cc-{cc} button[aria-expanded]"));
        c.page.wait_for(&format!("#cc-{cc} .cc-qr img"));
        c.page.click("#edit-customer");
        c.page.wait_for("#edit-first_name");
        check_layout(&c.page, &format!("customer, {orientation}"));
        c.shot(&format!("12-customer-{orientation}"));
        c.page.click("#add-card");
        c.page
            .wait_for("#add-card-form:not([hidden]) #add-card-cancel");
        check_layout(&c.page, &format!("add a card, {orientation}"));
        c.shot(&format!("12-customer-add-card-{orientation}"));
        c.page.click("#add-card-cancel");

        c.page.click("a[data-nav=enrol]");
        c.page.wait_for("#enrol-first_name");
        check_layout(&c.page, &format!("enrol, {orientation}"));
        c.shot(&format!("13-enrol-{orientation}"));

        c.page.click("a[data-nav=cards]");
        c.page.wait_for("#cards-active li[data-card-id]");
        check_layout(&c.page, &format!("cards, {orientation}"));
        c.page
            .click(&format!("#cards-active a[href='#/cards/{}']", id(&card)));
        c.page.wait_for_text("#rewards-list li", "Free coffee");
        check_layout(&c.page, &format!("card editor, {orientation}"));
        c.shot(&format!("14-card-editor-{orientation}"));

        c.page.click("#sign-out");
        c.page.wait_for("#signin-token");
    }
    // The layout checks only looked; the data is as it was.
    assert_eq!(c.app.customer_card(id(&ann), cc)["stamps_count"], json!(1));
}

#[test]
fn the_card_editor_offers_stampds_stamp_icons_and_limits() {
    let Some(c) = counter("vocabulary") else {
        return;
    };
    c.sign_in();
    c.page.click("a[data-nav=cards]");
    c.page.click("#new-card");
    c.page.wait_for("#card-preview .face");

    // Every icon stampd knows, in its order, labelled with its glyph.
    let offered = c.page.execute(
        "return Array.from(document.querySelectorAll('#card-stamp_icon option'), \
         (o) => [o.value, o.textContent]);",
        json!([]),
    );
    let expected: Vec<Value> = StampIcon::GLYPHS
        .iter()
        .map(|(name, glyph)| {
            let words = name.replace('_', " ");
            let label = format!("{}{}", words[..1].to_uppercase(), &words[1..]);
            json!([name, format!("{glyph}  {label}")])
        })
        .collect();
    assert_eq!(offered, json!(expected));

    // Each one, picked, is what the preview's stamps show.
    for (name, glyph) in StampIcon::GLYPHS {
        let shown = c.page.execute(
            r#"
            const select = document.getElementById('card-stamp_icon');
            select.value = arguments[0];
            select.dispatchEvent(new Event('change', { bubbles: true }));
            return Array.from(document.querySelectorAll('#card-preview .stamp'),
              (s) => s.textContent);
            "#,
            json!([name]),
        );
        let stamps = shown.as_array().expect("stamps");
        assert!(!stamps.is_empty(), "{name}");
        assert!(stamps.iter().all(|s| s == glyph), "{name}: {shown}");
    }

    // The inputs keep to the limits the API checks.
    let attribute = |css: &str, name: &str| {
        let el = c.page.find(css).unwrap_or_else(|| panic!("{css}"));
        c.page.attribute(&el, name)
    };
    let number = |n: i64| Some(n.to_string());
    assert_eq!(
        attribute("#card-name", "maxlength"),
        number(limits::CARD_NAME as i64)
    );
    assert_eq!(
        attribute("#card-header_text", "maxlength"),
        number(limits::HEADER_TEXT as i64)
    );
    assert_eq!(
        attribute("#card-stamp_message", "maxlength"),
        number(limits::STAMP_MESSAGE as i64)
    );
    let stamps = limits::STAMPS_REQUIRED;
    assert_eq!(
        attribute("#card-stamps_required", "min"),
        number(*stamps.start())
    );
    assert_eq!(
        attribute("#card-stamps_required", "max"),
        number(*stamps.end())
    );
    assert_eq!(attribute("#card-initial_stamps", "min"), number(0));
    assert_eq!(
        attribute("#card-initial_stamps", "max"),
        number(stamps.end() - 1)
    );
    for colour in [
        "card_color",
        "text_color",
        "stamp_color",
        "stamp_background_color",
    ] {
        assert_eq!(
            attribute(&format!("#card-{colour}"), "maxlength"),
            number(HexColor::LEN as i64),
            "{colour}"
        );
    }
}

#[test]
fn an_expired_card_takes_no_stamps_and_no_new_customers() {
    let Some(c) = counter("expired") else {
        return;
    };
    let coffee = coffee_card(&c.app);
    let summer = c
        .app
        .create_card(json!({"name": "Summer", "stamps_required": 5}));
    let ann = c.app.enrol("Ann", "Lee", "ann@example.com", id(&summer));
    let cc = ann["customer_card"]["id"].as_i64().unwrap();
    let r = c.app.patch(
        &c.app.store_path(&format!("/cards/{}", id(&summer))),
        &json!({"card": {"expires_at": "2020-01-31"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let expired = r.body;
    assert_eq!(expired["archived_at"], Value::Null, "expired, not archived");

    c.sign_in();
    c.open_customer("Ann", "Ann Lee");
    c.page
        .wait_for_text(&format!("#cc-{cc} .cc-archived"), "archived or expired");
    assert!(c.page.find(&format!("#cc-{cc} .plus-one")).is_none());

    c.page.click("a[data-nav=enrol]");
    let offered = c.page.wait_until("the cards to choose from", || {
        let offered = c.page.execute(
            "return Array.from(document.querySelectorAll('#enrol-card_id option'), \
             (o) => o.value);",
            json!([]),
        );
        (offered.as_array()?.len() > 1).then_some(offered)
    });
    assert_eq!(
        offered,
        json!([id(&coffee).to_string(), ""]),
        "the expired card takes no new customers"
    );
}
