//! The public signup page a poster's QR code leads to (`/s/<token>`), spoken to over
//! plain HTTP as a browser would: GET the form (it sets the `stampd_signup` cookie and
//! carries the same value in the hidden `csrf` field), POST it back with the cookie
//! carried by hand, redirects not followed.
//!
//! Rules: a missing or wrong CSRF token is 403 and enrols no one; a filled honeypot
//! (`website`) answers "Thank you" and enrols no one; validation errors re-render the
//! form with 422 and messages beside the fields; a signup enrols the customer in the
//! poster's card (metadata `{"signup": "poster", "poster_id": id}`) and queues the card
//! links. With a mail or SMS channel for what was typed, new and known contacts get the
//! same "on its way" page (compared byte for byte) and the card goes by message (to a
//! known contact again at most once an hour); without one, a new customer gets 303 to
//! `/c/<uuid>?joined=new` and a known one (same email or phone, however typed) 409
//! "already registered". The page never changes a known customer. The poster's contact
//! mode, `require_email` / `require_phone` and `require_birthday` decide what is asked,
//! `minimum_age` who may join; per-address rate limit (`signup_rate_limit_per_hour`).

use serde_json::{json, Value};

use crate::deliveries::{wait_for, Gateway, SmtpServer};
use crate::support::app::*;

const COOKIE: &str = "stampd_signup";

// ---------------------------------------------------------------------------------
// A small browser: forms, the CSRF cookie carried by hand, no redirects followed
// ---------------------------------------------------------------------------------

/// An answer of the public pages.
#[derive(Debug)]
struct Page {
    status: u16,
    html: String,
    location: Option<String>,
    set_cookie: Option<String>,
    retry_after: Option<String>,
}

impl Page {
    /// The value the `stampd_signup` cookie was set to.
    fn cookie(&self) -> String {
        let c = self
            .set_cookie
            .as_deref()
            .unwrap_or_else(|| panic!("a Set-Cookie header; status {}", self.status));
        let first = c.split(';').next().unwrap_or_default().trim();
        let value = first
            .strip_prefix(&format!("{COOKIE}="))
            .unwrap_or_else(|| panic!("the {COOKIE} cookie: {c}"));
        assert!(!value.is_empty(), "a cookie value: {c}");
        value.to_string()
    }

    /// The hidden `csrf` field of the form.
    fn csrf(&self) -> String {
        input_value(&self.html, "csrf")
            .unwrap_or_else(|| panic!("a csrf field in the form: {}", self.html))
    }

    /// The `<p class="field-error" id="<field>-error">` text, if shown.
    fn field_error(&self, field: &str) -> Option<String> {
        let marker = format!("id=\"{field}-error\"");
        let i = self.html.find(&marker)?;
        let start = self.html[..i].rfind('<')?;
        let tag = &self.html[start..];
        assert!(
            tag.starts_with("<p class=\"field-error\""),
            "{field}: the message is a <p class=\"field-error\">: {}",
            &tag[..tag.len().min(120)]
        );
        let open_end = tag.find('>')? + 1;
        let close = tag.find("</p>")?;
        Some(unescape(&tag[open_end..close]))
    }

    fn errors(&self) -> usize {
        self.html.matches("class=\"field-error\"").count()
    }

    /// `(uuid, joined)` of a 303 to the web card.
    fn joined(&self) -> (String, String) {
        assert_eq!(self.status, 303, "a redirect to the card: {}", self.html);
        let loc = self.location.as_deref().expect("a Location header");
        let rest = loc
            .strip_prefix("/c/")
            .unwrap_or_else(|| panic!("Location {loc} is /c/<uuid>?joined=..."));
        let (uuid, query) = rest
            .split_once("?joined=")
            .unwrap_or_else(|| panic!("Location {loc} carries joined="));
        assert_eq!(uuid.len(), 36, "a uuid: {loc}");
        (uuid.to_string(), query.to_string())
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The opening tag of the `<input>` named `name`.
fn input_tag<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("name=\"{name}\"");
    let mut from = 0;
    while let Some(i) = html[from..].find("<input") {
        let start = from + i;
        let end = start + html[start..].find('>')?;
        let tag = &html[start..end];
        if tag.contains(&marker) {
            return Some(tag);
        }
        from = end;
    }
    None
}

fn input_value(html: &str, name: &str) -> Option<String> {
    let tag = input_tag(html, name)?;
    let i = tag.find(" value=\"")? + 8;
    let end = tag[i..].find('"')?;
    Some(unescape(&tag[i..i + end]))
}

fn fetch(method: &str, url: &str, cookie: Option<&str>, form: Option<&str>) -> Page {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut req = agent.request(method, url);
    if let Some(c) = cookie {
        req = req.set("Cookie", &format!("{COOKIE}={c}"));
    }
    let result = match form {
        Some(f) => req
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(f),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let location = resp.header("Location").map(str::to_string);
    let set_cookie = resp.header("Set-Cookie").map(str::to_string);
    let retry_after = resp.header("Retry-After").map(str::to_string);
    let html = resp.into_string().expect("body");
    Page {
        status,
        html,
        location,
        set_cookie,
        retry_after,
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The signup form of a poster, as a browser first opens it.
fn open(poster: &Value) -> Page {
    let page = fetch("GET", url(poster), None, None);
    assert_eq!(page.status, 200, "the form: {}", page.html);
    page
}

fn url(poster: &Value) -> &str {
    poster["signup_url"].as_str().expect("signup_url")
}

/// Sends the form just shown on `page` with `fields` (plus its csrf and cookie).
fn send(poster: &Value, page: &Page, fields: &[(&str, &str)]) -> Page {
    let csrf = page.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    fetch(
        "POST",
        url(poster),
        Some(&page.cookie()),
        Some(&encode(&all)),
    )
}

/// Opens the form and sends it once.
fn sign_up(poster: &Value, fields: &[(&str, &str)]) -> Page {
    send(poster, &open(poster), fields)
}

// ---------------------------------------------------------------------------------
// API helpers
// ---------------------------------------------------------------------------------

fn card(app: &TestApp, attrs: Value) -> i64 {
    app.create_card(attrs)["id"].as_i64().expect("card id")
}

fn poster(app: &TestApp, card_id: i64, attrs: Value) -> Value {
    let mut a = json!({"card_id": card_id, "title": "Join our club"});
    a.as_object_mut()
        .unwrap()
        .extend(attrs.as_object().unwrap().clone());
    let r = app.post(&app.store_path("/posters"), &json!({ "poster": a }));
    assert_eq!(r.status, 201, "create poster: {}", r.text);
    r.body
}

/// A coffee card (8 stamps, 1 welcome stamp) and a poster for it.
fn coffee_poster(app: &TestApp, attrs: Value) -> (i64, Value) {
    let card_id = card(
        app,
        json!({"name": "Coffee Card", "stamps_required": 8, "initial_stamps": 1}),
    );
    (card_id, poster(app, card_id, attrs))
}

fn customers(app: &TestApp) -> Vec<Value> {
    let r = app.get(&app.store_path("/customers?items=100"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["customers"].as_array().expect("customers").clone()
}

fn customer(app: &TestApp, id: &Value) -> Value {
    let r = app.get(&app.store_path(&format!("/customers/{id}")));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn deliveries(app: &TestApp, customer_id: &Value) -> Vec<Value> {
    let r = app.get(&app.store_path(&format!("/deliveries?customer_id={customer_id}&items=100")));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["deliveries"].as_array().expect("deliveries").clone()
}

fn all_deliveries(app: &TestApp) -> Vec<Value> {
    let r = app.get(&app.store_path("/deliveries?items=100"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["deliveries"].as_array().expect("deliveries").clone()
}

/// `(channel, address)` of deliveries, sorted.
fn channels(list: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap_or_default().to_string(),
                d["address"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The only customer of the store.
fn only_customer(app: &TestApp) -> Value {
    let list = customers(app);
    assert_eq!(list.len(), 1, "one customer: {list:?}");
    customer(app, &list[0]["id"])
}

fn web_card(app: &TestApp, path: &str) -> Resp {
    app.request("GET", path, None, None, None)
}

// ---------------------------------------------------------------------------------
// The form
// ---------------------------------------------------------------------------------

#[test]
fn the_form_carries_a_csrf_token_its_cookie_and_a_honeypot() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({"title": "Join the Coffee Club"}));
    let page = open(&p);
    let html = &page.html;
    assert!(html.contains("Join the Coffee Club"), "the poster's title");
    assert!(html.contains("Coffee Card"), "the card's name");
    assert!(html.contains("Test Store"), "the store's name");
    let token = url(&p).rsplit('/').next().unwrap();
    assert!(
        html.contains(&format!("action=\"/s/{token}\"")) && html.contains("method=\"post\""),
        "the form posts back to the signup page: {html}"
    );
    // The CSRF pair: a random value in a cookie only this site's pages get, and the same
    // value in the form.
    let cookie = page.cookie();
    assert_eq!(page.csrf(), cookie);
    assert!(cookie.len() >= 22, "an unguessable value: {cookie}");
    let set = page.set_cookie.as_deref().unwrap().to_ascii_lowercase();
    assert!(set.contains("httponly"), "{set}");
    assert!(set.contains("samesite=strict"), "{set}");
    assert!(set.contains("path=/s/"), "{set}");
    assert!(!set.contains("secure"), "plain HTTP: no Secure flag: {set}");
    assert!(
        input_tag(html, "csrf").is_some_and(|t| t.contains("type=\"hidden\"")),
        "hidden csrf field"
    );
    // Each visit gets its own token.
    let again = open(&p);
    assert_ne!(again.cookie(), cookie);
    // The honeypot: a field people never see and leave empty.
    let hp = input_tag(html, "website").expect("the honeypot field");
    assert!(hp.contains("tabindex=\"-1\""), "{hp}");
    assert!(input_value(html, "website").is_none(), "empty honeypot");
    // Name, contact, consent, with limits on their lengths.
    for (name, max) in [
        ("first_name", "100"),
        ("last_name", "100"),
        ("email", "254"),
        ("phone", "40"),
    ] {
        let tag = input_tag(html, name).unwrap_or_else(|| panic!("a {name} field"));
        assert!(tag.contains(&format!("maxlength=\"{max}\"")), "{tag}");
        assert!(
            html.contains(&format!("<label for=\"{name}\"")),
            "{name} is labelled"
        );
    }
    let consent = input_tag(html, "consent").expect("a consent checkbox");
    assert!(consent.contains("type=\"checkbox\""), "{consent}");
    assert!(!consent.contains("checked"), "consent is not pre-ticked");
    assert!(input_tag(html, "birthday").is_none(), "no birthday asked");
    assert_eq!(page.errors(), 0);
}

#[test]
fn the_form_shows_title_store_and_card_names_escaped() {
    let app = spawn_app();
    let hostile = "\"><script>alert('x')</script> & co";
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": hostile}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let card_id = card(&app, json!({"name": hostile}));
    let p = poster(&app, card_id, json!({"title": hostile}));
    let page = open(&p);
    assert!(!page.html.contains("<script"), "{}", page.html);
    // The title (<title> and heading), the store (heading and consent) and the card.
    let escaped = "&quot;&gt;&lt;script&gt;alert(";
    assert_eq!(page.html.matches(escaped).count(), 5, "{}", page.html);
}

#[test]
fn a_missing_or_wrong_csrf_token_is_403_and_enrols_no_one() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({}));
    let person = [
        ("first_name", "Ann"),
        ("email", "ann@example.com"),
        ("consent", "1"),
    ];
    let a = open(&p);
    let b = open(&p);
    let with = |csrf: Option<&str>| {
        let mut f: Vec<(&str, &str)> = person.to_vec();
        if let Some(c) = csrf {
            f.push(("csrf", c));
        }
        encode(&f)
    };
    let (a_cookie, b_csrf) = (a.cookie(), b.csrf());
    for (what, cookie, form) in [
        ("no cookie, no csrf", None, with(None)),
        ("a cookie, no csrf", Some(a_cookie.as_str()), with(None)),
        ("a csrf, no cookie", None, with(Some(&a.csrf()))),
        (
            "another visit's csrf",
            Some(a_cookie.as_str()),
            with(Some(&b_csrf)),
        ),
        ("a made-up csrf", Some("forged"), with(Some("forged!"))),
        ("an empty csrf", Some(a_cookie.as_str()), with(Some(""))),
    ] {
        let r = fetch("POST", url(&p), cookie, Some(&form));
        assert_eq!(r.status, 403, "{what}: {}", r.html);
        assert!(
            r.html.contains("This form has expired"),
            "{what}: says what to do: {}",
            r.html
        );
        assert!(r.location.is_none(), "{what}");
    }
    assert!(customers(&app).is_empty(), "no one enrolled");
    assert!(all_deliveries(&app).is_empty(), "nothing queued");

    // The 403 page is a fresh form with what was typed: sending it again works.
    let refused = fetch("POST", url(&p), Some(&a_cookie), Some(&with(Some(&b_csrf))));
    assert_eq!(refused.status, 403);
    assert_eq!(
        input_value(&refused.html, "first_name").as_deref(),
        Some("Ann")
    );
    let (_, joined) = send(&p, &refused, &person).joined();
    assert_eq!(joined, "new");
    assert_eq!(customers(&app).len(), 1);
}

#[test]
fn a_filled_honeypot_thanks_the_bot_and_enrols_no_one() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({}));
    let r = sign_up(
        &p,
        &[
            ("first_name", "Bot"),
            ("email", "bot@example.com"),
            ("consent", "1"),
            ("website", "http://spam.example"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(r.html.contains("Thank you"), "{}", r.html);
    assert!(r.location.is_none());
    assert!(customers(&app).is_empty(), "no one enrolled");
    assert!(all_deliveries(&app).is_empty(), "nothing queued");

    // An empty honeypot (what people send) is fine.
    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
            ("website", ""),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
}

#[test]
fn validation_errors_show_beside_the_fields_with_what_was_typed() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({}));
    let r = sign_up(
        &p,
        &[
            ("first_name", ""),
            ("last_name", "O'Neil <b>"),
            ("email", "ann.example.com"),
            ("phone", "12ab"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.html);
    assert_eq!(
        r.field_error("first_name").as_deref(),
        Some("can't be blank")
    );
    assert_eq!(r.field_error("email").as_deref(), Some("is invalid"));
    assert_eq!(r.field_error("phone").as_deref(), Some("is invalid"));
    assert_eq!(
        r.field_error("consent").as_deref(),
        Some("must be accepted")
    );
    assert_eq!(r.field_error("last_name"), None);
    assert_eq!(r.errors(), 4, "{}", r.html);
    // Each field with an error points at its message.
    for field in ["first_name", "email", "phone", "consent"] {
        let tag = input_tag(&r.html, field).unwrap();
        assert!(
            tag.contains("aria-invalid=\"true\"")
                && tag.contains(&format!("aria-describedby=\"{field}-error\"")),
            "{tag}"
        );
    }
    assert!(!input_tag(&r.html, "last_name")
        .unwrap()
        .contains("aria-invalid"));
    // What was typed is kept (escaped), so only the mistakes need fixing.
    assert_eq!(
        input_value(&r.html, "last_name").as_deref(),
        Some("O'Neil <b>")
    );
    assert!(!r.html.contains("O'Neil <b>"), "typed text is escaped");
    assert_eq!(
        input_value(&r.html, "email").as_deref(),
        Some("ann.example.com")
    );
    assert_eq!(input_value(&r.html, "phone").as_deref(), Some("12ab"));
    assert!(customers(&app).is_empty());

    // Neither email nor phone: both say so.
    let r = sign_up(&p, &[("first_name", "Ann"), ("consent", "1")]);
    assert_eq!(r.status, 422);
    assert_eq!(
        r.field_error("email").as_deref(),
        Some("can't be blank when phone is blank")
    );
    assert_eq!(
        r.field_error("phone").as_deref(),
        Some("can't be blank when email is blank")
    );
    assert!(
        input_tag(&r.html, "consent").unwrap().contains("checked"),
        "consent stays ticked"
    );

    // Bounded lengths.
    let long_name = "n".repeat(101);
    let long_email = format!("{}@example.com", "e".repeat(250));
    let long_phone = "1".repeat(41);
    let r = sign_up(
        &p,
        &[
            ("first_name", &long_name),
            ("last_name", &long_name),
            ("email", &long_email),
            ("phone", &long_phone),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 422);
    for (field, max) in [
        ("first_name", 100),
        ("last_name", 100),
        ("email", 254),
        ("phone", 40),
    ] {
        assert_eq!(
            r.field_error(field),
            Some(format!("is too long (maximum is {max} characters)")),
            "{field}"
        );
    }
    assert!(customers(&app).is_empty(), "no one enrolled");
    assert!(all_deliveries(&app).is_empty());

    // The error page is a working form: fixing the mistakes enrols.
    let r = sign_up(&p, &[("first_name", "Ann"), ("email", "nope")]);
    assert_eq!(r.status, 422);
    let (_, joined) = send(
        &p,
        &r,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
}

// ---------------------------------------------------------------------------------
// Enrolment
// ---------------------------------------------------------------------------------

#[test]
fn a_signup_enrols_the_customer_in_the_posters_card_and_queues_the_links() {
    let app = spawn_app();
    let other_card = card(&app, json!({"name": "Tea Card"}));
    let (card_id, p) = coffee_poster(&app, json!({}));
    let r = sign_up(
        &p,
        &[
            ("first_name", " Ann "),
            ("last_name", "Lee"),
            ("email", "  Ann.Lee@Example.COM "),
            ("phone", "(415) 555-0132"),
            ("consent", "1"),
        ],
    );
    let (uuid, joined) = r.joined();
    assert_eq!(joined, "new");

    let c = only_customer(&app);
    assert_eq!(c["first_name"], "Ann");
    assert_eq!(c["last_name"], "Lee");
    assert_eq!(c["email"], "ann.lee@example.com");
    assert_eq!(c["phone"], "+14155550132");
    assert_eq!(c["birthday"], Value::Null);
    assert_eq!(
        c["metadata"],
        json!({"signup": "poster", "poster_id": p["id"]})
    );
    let cards = c["customer_cards"].as_array().expect("customer_cards");
    assert_eq!(cards.len(), 1, "{c}");
    let cc = &cards[0];
    assert_eq!(cc["card_id"], card_id);
    assert_ne!(cc["card_id"], other_card);
    assert_eq!(cc["uuid"], uuid.as_str());
    assert_eq!(
        cc["stamps_count"], 1,
        "the card's welcome stamp, as in the API"
    );

    // The card links went to the outbox, one per channel the customer has.
    let queued = deliveries(&app, &c["id"]);
    assert_eq!(
        channels(&queued),
        [
            ("email".to_string(), "ann.lee@example.com".to_string()),
            ("sms".to_string(), "+14155550132".to_string()),
        ]
    );
    for d in &queued {
        assert_eq!(d["customer_card_id"], cc["id"], "{d}");
        assert_eq!(d["customer_id"], c["id"], "{d}");
        assert!(
            d["status"] == "pending" || d["status"] == "failed",
            "not sent without a mailer: {d}"
        );
    }

    // The redirect leads to the web card, with a welcome.
    let page = web_card(&app, r.location.as_deref().unwrap());
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("class=\"notice\""), "{}", page.text);
    assert!(page.text.contains("Welcome! Your card is ready"));
    assert!(page.text.contains("data-stamps=\"1\""), "one stamp shown");
    assert!(page.text.contains("Coffee Card"));
    // Without `joined` the page has no notice.
    let plain = web_card(&app, &format!("/c/{uuid}"));
    assert!(!plain.text.contains("class=\"notice\""));

    // The store's counts follow.
    let store = app.get(&app.store_path("")).body;
    assert_eq!(store["customers_count"], 1, "{store}");
}

/// Without a channel for the contact (a fresh install), a known email or phone is told
/// to ask at the counter: never shown the card, whatever name comes with it, and
/// nobody is changed or sent anything.
#[test]
fn without_a_channel_a_known_contact_is_sent_to_the_counter() {
    let app = spawn_app();
    let (card_id, p) = coffee_poster(&app, json!({}));

    let (first_uuid, joined) = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let queued = all_deliveries(&app).len();

    // The right name or another, the email typed as it was or otherwise: the same answer.
    for (name, email) in [
        ("Ann", "ann@example.com"),
        ("ANN", " ANN@Example.com"),
        ("Mallory", "ann@example.com"),
    ] {
        let r = sign_up(
            &p,
            &[("first_name", name), ("email", email), ("consent", "1")],
        );
        assert_eq!(r.status, 409, "{name} {email}: {}", r.html);
        assert_eq!(r.location, None);
        assert!(
            r.html.contains("This email or phone is already registered")
                && r.html.contains("ask at the counter"),
            "{}",
            r.html
        );
        assert!(!r.html.contains(&first_uuid), "the card is not revealed");
    }
    let c = only_customer(&app);
    assert_eq!(c["first_name"], "Ann", "the customer is not overwritten");
    assert_eq!(c["customer_cards"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["customer_cards"][0]["card_id"], card_id);
    assert_eq!(all_deliveries(&app).len(), queued, "nothing sent again");

    // The same by phone, formatted differently.
    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Bob"),
            ("phone", "(415) 555-0199"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let r = sign_up(
        &p,
        &[
            ("first_name", "Bob"),
            ("phone", "+1 415.555.0199"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 409, "{}", r.html);
    assert_eq!(customers(&app).len(), 2, "no duplicate");
}

/// The public page never changes a customer it already knows: one enrolled at the
/// counter in another card is not enrolled in the poster's card, and their contact
/// details stay as they are.
#[test]
fn a_known_customer_is_not_changed_by_the_page() {
    let app = spawn_app();
    let tea = card(&app, json!({"name": "Tea Card"}));
    let (_, p) = coffee_poster(&app, json!({}));
    let known = app.create_customer(json!({
        "customer": {"first_name": "Cy", "email": "cy@example.com"},
        "card_id": tea,
    }));

    let r = sign_up(
        &p,
        &[
            ("first_name", "Cy"),
            ("email", "CY@example.com"),
            ("phone", "415 555 0100"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 409, "{}", r.html);
    let c = only_customer(&app);
    assert_eq!(c["id"], known["id"]);
    let held: Vec<&Value> = c["customer_cards"].as_array().unwrap().iter().collect();
    assert_eq!(held.len(), 1, "still only the tea card: {c}");
    assert_eq!(held[0]["card_id"], tea);
    assert_eq!(c["phone"], Value::Null);
    assert_eq!(c["metadata"], known["metadata"]);
    assert!(all_deliveries(&app).is_empty());
}

#[test]
fn customers_of_another_store_are_new_here() {
    let app = spawn_app();
    let (other_id, other_token) = app.new_store("Other Store");
    let their_card = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/cards"),
        Some(&other_token),
        Some("application/json"),
        Some(r#"{"card": {"name": "Their card"}}"#),
    );
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{other_id}/customers"),
        Some(&other_token),
        Some("application/json"),
        Some(
            &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": their_card.body["id"]})
                .to_string(),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let (_, p) = coffee_poster(&app, json!({}));
    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let c = only_customer(&app);
    assert_eq!(c["account_id"], app.store_id);
}

#[test]
fn a_poster_of_a_card_archived_since_enrols_no_one() {
    let app = spawn_app();
    let (card_id, p) = coffee_poster(&app, json!({}));
    let page = open(&p);
    let r = app.patch(
        &app.store_path(&format!("/cards/{card_id}")),
        &json!({"card": {"archived": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send(
        &p,
        &page,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(
        r.field_error("base")
            .is_some_and(|m| m.contains("no longer offered")),
        "{}",
        r.html
    );
    assert!(customers(&app).is_empty());
    assert!(all_deliveries(&app).is_empty());
}

// ---------------------------------------------------------------------------------
// What the poster asks for
// ---------------------------------------------------------------------------------

#[test]
fn an_email_only_poster_asks_for_an_email() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({"contact_collection_mode": "email"}));
    let page = open(&p);
    let email = input_tag(&page.html, "email").expect("an email field");
    assert!(email.contains(" required"), "{email}");
    assert!(input_tag(&page.html, "phone").is_none(), "no phone field");

    let r = send(
        &p,
        &page,
        &[
            ("first_name", "Ann"),
            ("phone", "4155550132"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.field_error("email").as_deref(), Some("can't be blank"));
    assert_eq!(r.field_error("phone"), None);
    assert!(customers(&app).is_empty());

    // A phone sent anyway is not kept.
    let (_, joined) = send(
        &p,
        &r,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("phone", "4155550132"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let c = only_customer(&app);
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["phone"], Value::Null);
    assert_eq!(channels(&deliveries(&app, &c["id"])).len(), 1);
}

#[test]
fn a_phone_only_poster_asks_for_a_phone() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({"contact_collection_mode": "phone"}));
    let page = open(&p);
    let phone = input_tag(&page.html, "phone").expect("a phone field");
    assert!(
        phone.contains(" required") && phone.contains("type=\"tel\""),
        "{phone}"
    );
    assert!(input_tag(&page.html, "email").is_none(), "no email field");

    let r = send(
        &p,
        &page,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.field_error("phone").as_deref(), Some("can't be blank"));
    assert!(customers(&app).is_empty());

    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("phone", "415-555-0132"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let c = only_customer(&app);
    assert_eq!(c["phone"], "+14155550132");
    assert_eq!(c["email"], Value::Null);
    assert_eq!(
        channels(&deliveries(&app, &c["id"])),
        [("sms".to_string(), "+14155550132".to_string())]
    );
}

#[test]
fn a_poster_requiring_both_asks_for_both() {
    let app = spawn_app();
    let (_, p) = coffee_poster(
        &app,
        json!({"contact_collection_mode": "email_and_phone", "require_email": true, "require_phone": true}),
    );
    let page = open(&p);
    for field in ["email", "phone"] {
        let tag = input_tag(&page.html, field).unwrap_or_else(|| panic!("{field} field"));
        assert!(tag.contains(" required"), "{tag}");
    }
    for (sent, missing) in [("email", "phone"), ("phone", "email")] {
        let value = if sent == "email" {
            "ann@example.com"
        } else {
            "4155550132"
        };
        let r = sign_up(
            &p,
            &[("first_name", "Ann"), (sent, value), ("consent", "1")],
        );
        assert_eq!(r.status, 422, "only {sent}");
        assert_eq!(
            r.field_error(missing).as_deref(),
            Some("can't be blank"),
            "only {sent}"
        );
        assert_eq!(r.field_error(sent), None);
    }
    let r = sign_up(&p, &[("first_name", "Ann"), ("consent", "1")]);
    assert_eq!(r.field_error("email").as_deref(), Some("can't be blank"));
    assert_eq!(r.field_error("phone").as_deref(), Some("can't be blank"));
    assert!(customers(&app).is_empty());

    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("phone", "4155550132"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let c = only_customer(&app);
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["phone"], "+14155550132");
}

#[test]
fn a_poster_requiring_the_email_takes_the_phone_too() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({"require_email": true}));
    let page = open(&p);
    assert!(input_tag(&page.html, "email")
        .unwrap()
        .contains(" required"));
    assert!(!input_tag(&page.html, "phone")
        .unwrap()
        .contains(" required"));
    assert!(page
        .html
        .contains("Mobile phone <span class=\"opt\">(optional)</span>"));

    let r = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("phone", "4155550132"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.field_error("email").as_deref(), Some("can't be blank"));
    assert_eq!(r.field_error("phone"), None);
    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
    let c = only_customer(&app);
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["phone"], Value::Null);
}

#[test]
fn an_email_or_phone_poster_takes_either() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({}));
    let page = open(&p);
    for field in ["email", "phone"] {
        let tag = input_tag(&page.html, field).unwrap_or_else(|| panic!("{field} field"));
        assert!(!tag.contains(" required"), "either will do: {tag}");
    }
    for (field, value) in [("email", "ann@example.com"), ("phone", "4155550132")] {
        let (_, joined) = sign_up(
            &p,
            &[("first_name", "Ann"), (field, value), ("consent", "1")],
        )
        .joined();
        assert_eq!(joined, "new", "{field}");
    }
    assert_eq!(customers(&app).len(), 2);
}

#[test]
fn a_birthday_is_asked_when_the_poster_requires_it() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({"birthday_required": true}));
    let page = open(&p);
    let tag = input_tag(&page.html, "birthday").expect("a birthday field");
    assert!(
        tag.contains("type=\"date\"") && tag.contains(" required"),
        "{tag}"
    );

    let base = [
        ("first_name", "Ann"),
        ("email", "ann@example.com"),
        ("consent", "1"),
    ];
    for (birthday, message) in [
        ("", "can't be blank"),
        ("2999-01-01", "can't be in the future"),
        ("1990-13-01", "is invalid"),
        ("1899-12-31", "is invalid"),
        ("yesterday", "is invalid"),
    ] {
        let mut f = base.to_vec();
        f.push(("birthday", birthday));
        let r = sign_up(&p, &f);
        assert_eq!(r.status, 422, "{birthday:?}");
        assert_eq!(
            r.field_error("birthday").as_deref(),
            Some(message),
            "{birthday:?}"
        );
    }
    let r = sign_up(&p, &base);
    assert_eq!(r.field_error("birthday").as_deref(), Some("can't be blank"));
    assert!(customers(&app).is_empty());

    let mut f = base.to_vec();
    f.push(("birthday", "1990-05-17"));
    let (_, joined) = sign_up(&p, &f).joined();
    assert_eq!(joined, "new");
    assert_eq!(only_customer(&app)["birthday"], "1990-05-17");

    // Turning the requirement off takes the field away.
    let r = app.patch(
        &app.store_path(&format!("/posters/{}", p["id"])),
        &json!({"poster": {"birthday_required": false}}),
    );
    assert_eq!(r.status, 200);
    assert!(input_tag(&open(&p).html, "birthday").is_none());
    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Bob"),
            ("email", "bob@example.com"),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
}

#[test]
fn customers_younger_than_the_minimum_age_are_refused() {
    let app = spawn_app();
    let (_, p) = coffee_poster(&app, json!({"require_birthday": true, "minimum_age": 18}));
    let page = open(&p);
    assert!(
        page.html.contains("You must be 18 or older to join."),
        "the form says so: {}",
        page.html
    );
    // Counted on today's date in UTC: 18 today is old enough, 18 tomorrow is not.
    let today = time::OffsetDateTime::now_utc().date();
    let years_ago = |years: i32, days: i64| {
        let d = today
            .replace_year(today.year() - years)
            .unwrap_or_else(|_| {
                // 29 February of a leap year, in a year without one.
                today
                    .previous_day()
                    .unwrap()
                    .replace_year(today.year() - years)
                    .unwrap()
            });
        (d + time::Duration::days(days)).to_string()
    };
    let base = [
        ("first_name", "Teo"),
        ("email", "teo@example.com"),
        ("consent", "1"),
    ];
    let young = years_ago(18, 1);
    let mut f = base.to_vec();
    f.push(("birthday", &young));
    let r = sign_up(&p, &f);
    assert_eq!(r.status, 422, "{}", r.html);
    assert_eq!(
        r.field_error("birthday").as_deref(),
        Some("Sorry, you must be 18 or older to join this card.")
    );
    assert!(customers(&app).is_empty(), "no one enrolled");
    assert!(
        r.html.contains(&format!("value=\"{young}\"")),
        "what was typed stays"
    );

    let of_age = years_ago(18, 0);
    let mut f = base.to_vec();
    f.push(("birthday", &of_age));
    let (_, joined) = sign_up(&p, &f).joined();
    assert_eq!(joined, "new");
    assert_eq!(only_customer(&app)["birthday"], of_age);

    // Without a minimum age, any birthday will do.
    let r = app.patch(
        &app.store_path(&format!("/posters/{}", p["id"])),
        &json!({"poster": {"minimum_age": null}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let today_born = today.to_string();
    let (_, joined) = sign_up(
        &p,
        &[
            ("first_name", "Baby"),
            ("email", "baby@example.com"),
            ("birthday", &today_born),
            ("consent", "1"),
        ],
    )
    .joined();
    assert_eq!(joined, "new");
}

// ---------------------------------------------------------------------------------
// With a channel: the page tells no one who is a customer
// ---------------------------------------------------------------------------------

/// The whole answer to one signup sent as a browser sends it — status, every header but
/// `Date`, body — with the form's CSRF token and cookie masked.
fn whole_answer(app: &TestApp, poster: &Value, fields: &[(&str, &str)]) -> String {
    let page = open(poster);
    let (csrf, cookie) = (page.csrf(), page.cookie());
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let body = encode(&all);
    let path = url(poster).strip_prefix(&app.base).expect("a local URL");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {COOKIE}={cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        app.port,
        body.len()
    );
    let r = app.raw(request.as_bytes(), std::time::Duration::from_secs(30));
    let mut headers: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    headers.sort();
    let mask = |s: &str| s.replace(&csrf, "<csrf>").replace(&cookie, "<cookie>");
    format!(
        "{}\n{}\n\n{}",
        r.status,
        mask(&headers.join("\n")),
        mask(&r.text)
    )
}

fn mail_and_sms() -> (SmtpServer, Gateway, TestApp) {
    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });
    (smtp, gw, app)
}

/// Moves every delivery `minutes` into the past.
fn age_deliveries(app: &TestApp, minutes: i64) {
    app.conn()
        .execute(
            "UPDATE outbox SET created_at =
                strftime('%Y-%m-%dT%H:%M:%fZ', created_at, ?1 || ' minutes')",
            [-minutes],
        )
        .unwrap();
}

/// `(channel, status)` of a customer's deliveries, sorted.
fn statuses(app: &TestApp, customer_id: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = deliveries(app, customer_id)
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// With mail and SMS set up, a new customer and someone typing a known customer's email
/// and phone (with another name) get the same answer, byte for byte: the card is on its
/// way to what they typed. The new customer's card goes at once; the known one's is not
/// sent again within the hour, silently, and the deliveries list shows it held back.
#[test]
fn with_a_channel_new_and_known_contacts_get_the_same_answer() {
    let (smtp, gw, app) = mail_and_sms();
    let (_, p) = coffee_poster(&app, json!({}));
    let typed = [
        ("email", "Ann.Lee@Example.com"),
        ("phone", "(415) 555-0132"),
        ("consent", "1"),
    ];
    let with_name = |name: &'static str| {
        let mut f = vec![("first_name", name)];
        f.extend_from_slice(&typed);
        f
    };
    let new = whole_answer(&app, &p, &with_name("Ann"));
    let known = whole_answer(&app, &p, &with_name("Mallory"));
    assert_eq!(new, known, "the answers differ");
    assert!(new.starts_with("200\n"), "{new}");
    assert!(
        new.contains("Your card is on its way")
            && new.contains("<strong>A•••@Example.com</strong>")
            && new.contains("<strong>(•••) •••-•132</strong>"),
        "{new}"
    );

    let c = only_customer(&app);
    assert_eq!(c["first_name"], "Ann", "the known customer is not changed");
    let uuid = c["customer_cards"][0]["uuid"].as_str().unwrap();
    assert!(!new.contains(uuid), "no card on the page");
    wait_for("the card by mail and text", || {
        (smtp.mails().len() == 1 && gw.requests().len() == 1).then_some(())
    });
    assert!(smtp.mails()[0].data.contains(&format!("/c/{uuid}")));
    let expected: Vec<(String, String)> = [
        ("email", "sent"),
        ("email", "suppressed"),
        ("sms", "sent"),
        ("sms", "suppressed"),
    ]
    .iter()
    .map(|(c, s)| (c.to_string(), s.to_string()))
    .collect();
    wait_for("the sends recorded", || {
        (statuses(&app, &c["id"]) == expected).then_some(())
    });
}

/// A known contact typed on the page gets their card again by message — at most once an
/// hour, further tries held back silently (never a 429 here) — and the page never shows
/// it. One who does not hold the poster's card gets the card they hold, and is not
/// enrolled in the poster's.
#[test]
fn a_known_contact_gets_the_card_again_at_most_once_an_hour() {
    let (smtp, _gw, app) = mail_and_sms();
    let tea = card(&app, json!({"name": "Tea Card"}));
    let (_, p) = coffee_poster(&app, json!({}));
    let known = app.create_customer(json!({
        "customer": {"first_name": "Di", "email": "di@example.com"},
        "card_id": tea,
    }));
    let uuid = known["customer_card"]["uuid"].as_str().unwrap().to_string();
    let typed = [
        ("first_name", "Di"),
        ("email", "di@example.com"),
        ("consent", "1"),
    ];

    for round in 0..3 {
        let r = sign_up(&p, &typed);
        assert_eq!(r.status, 200, "round {round}: {}", r.html);
        assert!(r.html.contains("Your card is on its way"), "{}", r.html);
        assert!(!r.html.contains(&uuid), "the card is not on the page");
    }
    let mails = wait_for("the card again", || {
        let m = smtp.mails();
        (!m.is_empty()).then_some(m)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 1, "once within the hour");
    assert_eq!(mails[0].rcpt, ["di@example.com"]);
    assert!(
        mails[0].data.contains(&format!("/c/{uuid}")),
        "the tea card"
    );
    let ds = deliveries(&app, &known["id"]);
    let held: Vec<&Value> = ds.iter().filter(|d| d["status"] == "suppressed").collect();
    assert_eq!(held.len(), 1, "repeats share one row: {ds:?}");
    assert!(
        held[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("at most once every 1 hour")),
        "{ds:?}"
    );

    age_deliveries(&app, 61);
    assert_eq!(sign_up(&p, &typed).status, 200);
    wait_for("the card once more, an hour later", || {
        (smtp.mails().len() == 2).then_some(())
    });
    let c = only_customer(&app);
    assert_eq!(c["customer_cards"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["customer_cards"][0]["card_id"], tea);
}

// ---------------------------------------------------------------------------------
// Abuse: per-address rate limit
// ---------------------------------------------------------------------------------

#[test]
fn signups_per_address_are_limited() {
    let app = spawn_app_with(|s| s.signup_rate_limit_per_hour = 2);
    let (_, p) = coffee_poster(&app, json!({}));
    for n in 1..=2 {
        let email = format!("person{n}@example.com");
        let (_, joined) = sign_up(
            &p,
            &[("first_name", "Ann"), ("email", &email), ("consent", "1")],
        )
        .joined();
        assert_eq!(joined, "new", "signup {n}");
    }
    let r = sign_up(
        &p,
        &[
            ("first_name", "Cy"),
            ("email", "person3@example.com"),
            ("consent", "1"),
        ],
    );
    assert_eq!(r.status, 429, "{}", r.html);
    assert!(r.location.is_none());
    assert!(
        r.retry_after
            .as_deref()
            .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)),
        "Retry-After: {:?}",
        r.retry_after
    );
    assert!(
        r.field_error("base")
            .is_some_and(|m| m.contains("Too many signups")),
        "{}",
        r.html
    );
    // What was typed is kept for later.
    assert_eq!(input_value(&r.html, "first_name").as_deref(), Some("Cy"));
    assert_eq!(customers(&app).len(), 2, "the third was not enrolled");
    // The form itself still opens; the API is not affected.
    assert_eq!(open(&p).status, 200);
    assert_eq!(app.get(&app.store_path("/customers")).status, 200);
}

#[test]
fn a_zero_limit_means_no_limit() {
    let app = spawn_app_with(|s| s.signup_rate_limit_per_hour = 0);
    let (_, p) = coffee_poster(&app, json!({}));
    for n in 1..=25 {
        let email = format!("person{n}@example.com");
        let r = sign_up(
            &p,
            &[("first_name", "Ann"), ("email", &email), ("consent", "1")],
        );
        assert_eq!(r.status, 303, "signup {n}: {}", r.html);
    }
    assert_eq!(customers(&app).len(), 25);
}

#[test]
fn behind_https_the_urls_use_public_url_and_the_cookie_is_secure() {
    let app = spawn_app_with(|s| s.public_url = Some("https://loyalty.example.com".into()));
    let (_, p) = coffee_poster(&app, json!({}));
    let signup = url(&p);
    let token = signup
        .strip_prefix("https://loyalty.example.com/s/")
        .unwrap_or_else(|| panic!("signup_url on public_url: {signup}"));
    assert_eq!(
        p["display_url"],
        format!("https://loyalty.example.com/posters/{token}")
    );
    assert_eq!(
        p["qr_code_url"],
        format!("https://loyalty.example.com/s/{token}?via=qr")
    );
    let page = fetch("GET", &format!("{}/s/{token}", app.base), None, None);
    assert_eq!(page.status, 200, "{}", page.html);
    let set = page
        .set_cookie
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(set.contains("; secure"), "a Secure cookie: {set}");
    // The printed address is the public one.
    let poster = fetch("GET", &format!("{}/posters/{token}", app.base), None, None);
    assert!(poster.html.contains(signup), "{}", poster.html);
}

#[test]
fn the_card_page_after_signup_offers_the_wallets() {
    let certs = tempfile::tempdir().expect("temp dir");
    let apple = crate::support::apple_chain::apple_chain(certs.path());
    crate::support::apple_chain::openssl(
        certs.path(),
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "google.key",
        ],
    );
    let key_file = certs.path().join("service-account.json");
    std::fs::write(
        &key_file,
        json!({
            "type": "service_account",
            "project_id": "example-project",
            "private_key_id": "0123abcd",
            "private_key": std::fs::read_to_string(certs.path().join("google.key")).unwrap(),
            "client_email": "stampd-wallet@example-project.iam.gserviceaccount.com",
        })
        .to_string(),
    )
    .unwrap();
    let google = stampd::config::GoogleSettings {
        issuer_id: "3388000000012345678".into(),
        service_account_key: key_file,
    };
    let app = spawn_app_with(|s| {
        s.apple = Some(apple);
        s.google = Some(google);
    });
    let (_, p) = coffee_poster(&app, json!({}));
    let r = sign_up(
        &p,
        &[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
            ("consent", "1"),
        ],
    );
    let (uuid, _) = r.joined();
    let page = web_card(&app, r.location.as_deref().unwrap());
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains(&format!(
            "href=\"{}/passes/{uuid}.pkpass\">Add to Apple Wallet</a>",
            app.base
        )),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(&format!(
            "href=\"{}/passes/{uuid}/google\">Add to Google Wallet</a>",
            app.base
        )),
        "{}",
        page.text
    );
    // The links work: the pass downloads.
    let pass = ureq::get(&format!("{}/passes/{uuid}.pkpass", app.base))
        .call()
        .expect("the pass downloads");
    assert_eq!(pass.status(), 200);
    assert_eq!(pass.content_type(), "application/vnd.apple.pkpass");
}
