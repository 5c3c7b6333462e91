//! End-to-end tests of signup posters in headless Chromium, as a customer meets them: the
//! printable poster on the wall, its QR code (decoded from the page's own SVG), the
//! signup form it leads to (a validation error fixed, then sent), the web card they land
//! on, and coming back as a known customer (sent to the counter, the card not shown).
//! The API then shows the enrolment with the right card and the queued card links. Another test prints each paper size with
//! Chromium and checks the PDF: one page, of that size.
//!
//! Screenshots go to `target/screenshots/` (`poster-*.png`). Like the counter page tests,
//! they need Debian's `chromium` and `chromium-driver`: without them each test says it
//! was skipped and passes, unless `STAMPD_REQUIRE_BROWSER=1` demands a browser.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::qr::decode_qr;
use crate::support::app::TestApp;
use crate::support::browser::{
    browser_available, corner_coffee, screenshot_dir, CHROMEDRIVER, CHROMIUM,
};
use crate::support::webdriver::{Driver, Session};

/// A stampd and a browser window.
struct Visitor {
    app: TestApp,
    page: Session,
    test: &'static str,
    _driver: Driver,
    _one_at_a_time: MutexGuard<'static, ()>,
}

fn visitor(test: &'static str) -> Option<Visitor> {
    let guard = browser_available(test)?;
    let app = corner_coffee();
    let driver = Driver::start(Path::new(CHROMEDRIVER));
    let page = driver.session(Path::new(CHROMIUM), 900, 1100);
    Some(Visitor {
        app,
        page,
        test,
        _driver: driver,
        _one_at_a_time: guard,
    })
}

impl Visitor {
    /// Saves `target/screenshots/<name>.png`.
    fn shot(&self, name: &str) {
        self.page
            .screenshot(&screenshot_dir().join(format!("{name}.png")));
    }

    fn js(&self, script: &str) -> Value {
        self.page.execute(script, json!([]))
    }

    /// Fills the signup form the way a person does: types into each field, ticks the
    /// consent box, presses the button.
    fn fill_in_and_send(&self, fields: &[(&str, &str)]) {
        for (id, text) in fields {
            self.page.replace_text(&format!("#{id}"), text);
        }
        let consent = self.page.wait_for("#consent");
        if self.page.property(&consent, "checked") != json!(true) {
            self.page.click("#consent");
        }
        assert_eq!(
            self.page.property(&consent, "checked"),
            json!(true),
            "consent ticked"
        );
        self.page.click("button[type=submit]");
    }

    /// Waits for the web card page with a notice containing `notice`; its uuid.
    fn wait_for_card(&self, notice: &str, joined: &str) -> String {
        self.page.wait_for_text(".notice", notice);
        let url = self.page.current_url();
        let rest = url
            .strip_prefix(&format!("{}/c/", self.app.base))
            .unwrap_or_else(|| panic!("on the web card: {url}"));
        let (uuid, query) = rest.split_once('?').expect("a query");
        assert_eq!(query, format!("joined={joined}"), "{url}");
        uuid.to_string()
    }

    /// The card on screen: stamps in the `n / m stamps` line and as icons.
    fn stamps_on_screen(&self) -> Value {
        self.js(r#"
            return {
              line: document.querySelector('.progress').textContent.trim(),
              stamps: Number(document.querySelector('.progress').dataset.stamps),
              filled: document.querySelectorAll('.stamp.filled').length,
              slots: document.querySelectorAll('.stamp').length,
              card: document.querySelector('h1').textContent.trim(),
            };
            "#)
    }
}

impl Drop for Visitor {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.shot(&format!("failed-{}", self.test));
        }
    }
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("an id: {v}"))
}

// ---------------------------------------------------------------------------------
// A customer's way from the poster to their card
// ---------------------------------------------------------------------------------

#[test]
fn scan_the_poster_sign_up_fix_a_mistake_and_come_back() {
    let Some(v) = visitor("scan_the_poster_sign_up_fix_a_mistake_and_come_back") else {
        return;
    };
    let app = &v.app;
    let card = app.create_card(json!({
        "name": "Coffee Card",
        "stamps_required": 8,
        "initial_stamps": 1,
        "card_color": "#3B2F2F",
        "text_color": "#FFFFFF",
    }));
    app.create_reward(id(&card), "Free flat white", 8);
    let poster = app.post_ok(
        &app.store_path("/posters"),
        json!({"poster": {
            "card_id": id(&card),
            "title": "Join our coffee club",
            "paper_size": "a5",
            "primary_color": "#1B4332",
            "secondary_color": "#FFD166",
            "text_color": "#FFFFFF",
        }}),
    );

    // The poster on the wall.
    v.page.goto(poster["display_url"].as_str().unwrap());
    v.page.wait_for_text(".poster h1", "Join our coffee club");
    let shown = v.js(r#"
        const p = document.querySelector('.poster');
        const q = document.querySelector('.poster .qr svg').getBoundingClientRect();
        return {
          text: p.textContent.replace(/\\s+/g, ' '),
          background: getComputedStyle(p).backgroundColor,
          poster_width: p.getBoundingClientRect().width,
          qr_width: q.width,
          qr_height: q.height,
          svg: document.querySelector('.poster .qr svg').outerHTML,
        };
        "#);
    let text = shown["text"].as_str().unwrap();
    for needle in [
        "Join our coffee club",
        "Coffee Card",
        "Collect 8 stamps for Free flat white",
        "Corner Coffee",
    ] {
        assert!(text.contains(needle), "the poster shows {needle:?}: {text}");
    }
    assert_eq!(
        shown["background"], "rgb(27, 67, 50)",
        "the poster's colour"
    );
    let (pw, qw, qh) = (
        shown["poster_width"].as_f64().unwrap(),
        shown["qr_width"].as_f64().unwrap(),
        shown["qr_height"].as_f64().unwrap(),
    );
    assert!(qw >= pw / 3.0, "a large QR code: {qw}px of {pw}px");
    assert!((qw - qh).abs() < 2.0, "a square code: {qw}×{qh}");
    v.shot("poster-printable");

    // The phone reads the QR code drawn on the page.
    let scanned = decode_qr(shown["svg"].as_str().unwrap());
    assert_eq!(scanned, poster["qr_code_url"].as_str().unwrap());

    // On a phone-sized screen, the customer follows it.
    v.page.set_window_size(390, 844);
    v.page.goto(&scanned);
    v.page.wait_for_text("h1", "Join our coffee club");
    assert!(
        v.page.body_text().contains("Coffee Card"),
        "{}",
        v.page.body_text()
    );

    // First try: a mistake in the email.
    v.fill_in_and_send(&[
        ("first_name", "Maya"),
        ("last_name", "Lopez"),
        ("email", "maya.example.com"),
        ("phone", "(415) 555-0199"),
    ]);
    let error = v.page.wait_for_text("#email-error", "is invalid");
    let placed = v.js(r#"
        const input = document.getElementById('email');
        const error = document.getElementById('email-error');
        const a = input.getBoundingClientRect(), b = error.getBoundingClientRect();
        return {
          next: input.nextElementSibling === error,
          below: b.top >= a.bottom - 1 && b.top - a.bottom < 40,
          described: input.getAttribute('aria-describedby'),
          invalid: input.getAttribute('aria-invalid'),
          errors: document.querySelectorAll('.field-error').length,
          first_name: document.getElementById('first_name').value,
          phone: document.getElementById('phone').value,
          email: input.value,
          consent: document.getElementById('consent').checked,
        };
        "#);
    assert_eq!(
        placed["next"], true,
        "the message sits beside the field: {placed}"
    );
    assert_eq!(placed["below"], true, "right under the field: {placed}");
    assert_eq!(placed["described"], "email-error");
    assert_eq!(placed["invalid"], "true");
    assert_eq!(placed["errors"], 1, "only the email is wrong: {placed}");
    assert_eq!(placed["first_name"], "Maya", "what was typed is kept");
    assert_eq!(placed["phone"], "(415) 555-0199");
    assert_eq!(placed["email"], "maya.example.com");
    assert!(v.page.is_displayed(&error));
    v.page.scroll_to(&error);
    v.shot("poster-signup-error");
    let none = app.get_ok(&app.store_path("/customers"));
    assert_eq!(none["pagination"]["count"], 0, "no one enrolled yet");

    // Fixed, and sent again.
    v.fill_in_and_send(&[("email", "maya@example.com")]);
    let uuid = v.wait_for_card("Welcome! Your card is ready", "new");
    let card_on_screen = v.stamps_on_screen();
    assert_eq!(
        card_on_screen,
        json!({"line": "1 / 8 stamps", "stamps": 1, "filled": 1, "slots": 8, "card": "Coffee Card"}),
        "the new card with its welcome stamp"
    );
    assert!(
        v.page.body_text().contains("Maya Lopez"),
        "the member's name"
    );
    v.shot("poster-signup-card");

    // The shop stamps the card at the counter.
    let customers = app.get_ok(&app.store_path("/customers"));
    assert_eq!(customers["pagination"]["count"], 1, "{customers}");
    let customer_id = id(&customers["customers"][0]);
    let cc = &customers["customers"][0]["customer_cards"][0];
    app.post_ok(
        &app.store_path(&format!(
            "/customers/{customer_id}/customer_cards/{}/stamp",
            id(cc)
        )),
        json!({"stamps": 1}),
    );

    // Days later Maya scans the poster again, typing her email differently. Without
    // mail or SMS set up, the page cannot tell her from someone who knows her email:
    // it sends her to the counter instead of showing the card.
    v.page.goto(&scanned);
    v.fill_in_and_send(&[("first_name", "Maya"), ("email", "MAYA@Example.com ")]);
    v.page
        .wait_for_text(".notice", "This email or phone is already registered");
    assert!(
        v.page.body_text().contains("ask at the counter"),
        "{}",
        v.page.body_text()
    );
    assert!(
        !v.page.current_url().contains("/c/"),
        "not on a card: {}",
        v.page.current_url()
    );
    assert!(!v.page.body_text().contains(&uuid), "the card is not shown");
    v.shot("poster-signup-returning");

    // The API shows one enrolment, in the poster's card, with the card links queued.
    let customers = app.get_ok(&app.store_path("/customers"));
    assert_eq!(customers["pagination"]["count"], 1, "no duplicate");
    let c = app.get_ok(&app.store_path(&format!("/customers/{customer_id}")));
    assert_eq!(c["first_name"], "Maya");
    assert_eq!(c["last_name"], "Lopez");
    assert_eq!(c["email"], "maya@example.com");
    assert_eq!(c["phone"], "+14155550199");
    assert_eq!(
        c["metadata"],
        json!({"signup": "poster", "poster_id": poster["id"]})
    );
    let cards = c["customer_cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{c}");
    assert_eq!(cards[0]["card_id"], card["id"]);
    assert_eq!(cards[0]["uuid"], uuid.as_str());
    assert_eq!(cards[0]["stamps_count"], 2);

    let list =
        app.get_ok(&app.store_path(&format!("/deliveries?customer_id={customer_id}&items=100")));
    let deliveries = list["deliveries"].as_array().unwrap();
    let mut first: Vec<(String, String)> = deliveries
        .iter()
        .filter(|d| d["created_at"] == deliveries.last().unwrap()["created_at"])
        .map(|d| {
            (
                d["channel"].as_str().unwrap().to_string(),
                d["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    first.sort();
    assert_eq!(
        first,
        [
            ("email".to_string(), "maya@example.com".to_string()),
            ("sms".to_string(), "+14155550199".to_string()),
        ],
        "the first signup queued the links by email and text: {list}"
    );
    assert_eq!(deliveries.len(), 2, "and the return sent nothing: {list}");
    for d in deliveries {
        assert_eq!(d["customer_card_id"], cards[0]["id"], "{d}");
        assert!(
            ["email", "sms"].contains(&d["channel"].as_str().unwrap()),
            "{d}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Printing: one page of the poster's paper size
// ---------------------------------------------------------------------------------

/// Prints `url` to a PDF with headless Chromium, as "Print → Save as PDF" does.
fn print_to_pdf(url: &str, dir: &Path, name: &str) -> Vec<u8> {
    let out = dir.join(format!("{name}.pdf"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            &format!("--print-to-pdf={}", out.display()),
            url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("chromium runs").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not print {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()))
}

/// The pages of a PDF: their MediaBox sizes in points.
fn pdf_pages(pdf: &[u8]) -> Vec<(f64, f64)> {
    let text = String::from_utf8_lossy(pdf);
    let mut pages = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("/Type /Page") {
        let at = from + i;
        from = at + "/Type /Page".len();
        if text[from..].starts_with('s') {
            continue; // the page tree, not a page
        }
        // The page's object: back to its "obj", on to its "endobj".
        let start = text[..at].rfind(" obj").unwrap_or(0);
        let end = from + text[from..].find("endobj").unwrap_or(text.len() - from);
        let dict = &text[start..end];
        let bx = dict
            .find("/MediaBox [")
            .map(|j| &dict[j + "/MediaBox [".len()..])
            .and_then(|s| s.split(']').next())
            .unwrap_or_else(|| panic!("a MediaBox in {dict}"));
        let n: Vec<f64> = bx
            .split_whitespace()
            .map(|t| t.parse().expect("a number"))
            .collect();
        pages.push((n[2] - n[0], n[3] - n[1]));
    }
    pages
}

#[test]
fn each_paper_size_prints_on_one_page_of_that_size() {
    let Some(_guard) = browser_available("each_paper_size_prints_on_one_page_of_that_size") else {
        return;
    };
    let app = corner_coffee();
    let card = app.create_card(json!({"name": "Coffee Card", "stamps_required": 8}));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut wrong = Vec::new();
    // Sizes in PostScript points (1/72 in).
    for (size, w, h) in [
        ("a4", 595.28, 841.89),
        ("a5", 419.53, 595.28),
        ("a6", 297.64, 419.53),
        ("letter", 612.0, 792.0),
    ] {
        let poster = app.post_ok(
            &app.store_path("/posters"),
            json!({"poster": {
                "card_id": id(&card),
                "title": "Collect stamps, earn a free coffee: join our loyalty club today",
                "paper_size": size,
            }}),
        );
        let pdf = print_to_pdf(poster["display_url"].as_str().unwrap(), dir.path(), size);
        let pages = pdf_pages(&pdf);
        assert_eq!(pages.len(), 1, "{size}: one page, not {pages:?}");
        let (pw, ph) = pages[0];
        if (pw - w).abs() > 2.0 || (ph - h).abs() > 2.0 {
            wrong.push(format!(
                "{size}: printed on {pw:.1}×{ph:.1} pt, not {w}×{h} pt"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "posters print on their own paper size:\n{}",
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------
// A poster for adults only
// ---------------------------------------------------------------------------------

#[test]
fn a_customer_under_the_minimum_age_is_refused_with_a_clear_message() {
    let Some(v) = visitor("a_customer_under_the_minimum_age_is_refused_with_a_clear_message")
    else {
        return;
    };
    let app = &v.app;
    let card = app.create_card(json!({"name": "Wine Club", "stamps_required": 6}));
    let poster = app.post_ok(
        &app.store_path("/posters"),
        json!({"poster": {"card_id": id(&card), "require_birthday": true, "minimum_age": 18}}),
    );
    v.page.set_window_size(390, 844);
    v.page.goto(poster["signup_url"].as_str().unwrap());
    v.page.wait_for_text("h1", "Join Wine Club");
    v.page
        .wait_for_text("#birthday-hint", "You must be 18 or older to join.");

    // Seventeen today, by the date in UTC: typed as a person types a date (month, day,
    // year in this browser's locale).
    let today = time::OffsetDateTime::now_utc().date();
    let born = |years: i32| {
        let day = today
            .replace_year(today.year() - years)
            .unwrap_or_else(|_| {
                today
                    .previous_day()
                    .unwrap()
                    .replace_year(today.year() - years)
                    .unwrap()
            });
        (
            day,
            format!("{:02}{:02}{}", u8::from(day.month()), day.day(), day.year()),
        )
    };
    let (_, seventeen) = born(17);
    v.fill_in_and_send(&[
        ("first_name", "Teo"),
        ("email", "teo@example.com"),
        ("birthday", &seventeen),
    ]);
    let error = v.page.wait_for_text(
        "#birthday-error",
        "Sorry, you must be 18 or older to join this card.",
    );
    assert!(v.page.is_displayed(&error));
    let described =
        v.js("return document.getElementById('birthday').getAttribute('aria-describedby');");
    assert_eq!(described, "birthday-hint birthday-error");
    v.page.scroll_to(&error);
    v.shot("poster-signup-too-young");
    let none = app.get_ok(&app.store_path("/customers"));
    assert_eq!(none["pagination"]["count"], 0, "no one enrolled");

    // Eighteen today is old enough.
    let (day, eighteen) = born(18);
    v.fill_in_and_send(&[("birthday", &eighteen)]);
    v.wait_for_card("Welcome! Your card is ready", "new");
    let customers = app.get_ok(&app.store_path("/customers"));
    assert_eq!(customers["pagination"]["count"], 1);
    assert_eq!(customers["customers"][0]["birthday"], day.to_string());
}
