//! Names and titles shown to people refuse characters that break lines, control
//! terminals, turn text around (bidi overrides) or show as nothing: a 422 naming the
//! field, nothing stored. The fields: a customer's first and last name (API and the
//! public signup page), a store's name and store_name, a card's name and header_text,
//! a reward's name, a location's name, a poster's title. Names written in any script,
//! with the joiners Persian, Indic scripts and emoji need, are kept as given.

use serde_json::{json, Value};

use crate::support::app::*;

const NOT_ALLOWED: &str = "contains characters that are not allowed";

/// One value of each kind refused.
const REFUSED: &[(&str, &str)] = &[
    ("a control character", "Ann\u{7}Lee"),
    ("an escape sequence", "Ann\u{1b}[2JLee"),
    ("CR/LF", "Ann\r\nBcc: victim@example.com"),
    ("a line feed", "Ann\nLee"),
    ("a tab", "Ann\tLee"),
    ("a next-line control", "Ann\u{85}Lee"),
    ("a line separator", "Ann\u{2028}Lee"),
    ("a right-to-left override", "Ann\u{202E}eeL"),
    ("a left-to-right embedding", "Ann\u{202A}Lee\u{202C}"),
    ("a bidi isolate", "Ann\u{2067}Lee\u{2069}"),
    ("a right-to-left mark", "Ann\u{200F}Lee"),
    ("a zero width space", "Ann\u{200B}Lee"),
    ("a zero width joiner between Latin letters", "An\u{200D}n"),
    ("a zero width no-break space", "\u{FEFF}Ann"),
    ("a blank-looking letter", "\u{3164}"),
];

fn app() -> TestApp {
    spawn_app_with(|s| {
        s.rate_limit_per_minute = 0;
        s.signup_rate_limit_per_hour = 0;
    })
}

fn assert_refused(r: &Resp, field: &str, what: &str) {
    assert_eq!(r.status, 422, "{field} with {what}: {}", r.text);
    let errors = r.body["errors"][field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} with {what}: no error for {field}: {}", r.text));
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.starts_with(NOT_ALLOWED))),
        "{field} with {what}: {}",
        r.text
    );
}

#[test]
fn every_name_field_refuses_hidden_and_controlling_characters() {
    let app = app();
    let card_id = app.create_card(json!({"name": "Coffee", "stamps_required": 5}))["id"].clone();
    let store = app.store_path("");
    for (what, bad) in REFUSED {
        let n = crate::stamps::unique();
        let requests: [(&str, &str, &str, Value); 10] = [
            (
                "POST",
                "/customers",
                "first_name",
                json!({"customer": {"first_name": bad, "email": format!("n{n}@example.com")}}),
            ),
            (
                "POST",
                "/customers",
                "last_name",
                json!({"customer": {"first_name": "Ann", "last_name": bad,
                                    "email": format!("m{n}@example.com")}}),
            ),
            ("PATCH", "", "name", json!({"account": {"name": bad}})),
            (
                "PATCH",
                "",
                "store_name",
                json!({"account": {"store_name": bad}}),
            ),
            ("POST", "/cards", "name", json!({"card": {"name": bad}})),
            (
                "POST",
                "/cards",
                "header_text",
                json!({"card": {"name": "Tea", "header_text": bad}}),
            ),
            (
                "POST",
                "/rewards",
                "name",
                json!({"reward": {"card_id": card_id, "name": bad, "stamps_required": 3}}),
            ),
            (
                "POST",
                "/locations",
                "name",
                json!({"location": {"name": bad, "address": "1 Main St"}}),
            ),
            (
                "POST",
                "/posters",
                "title",
                json!({"poster": {"card_id": card_id, "title": bad}}),
            ),
            (
                "POST",
                "/customers",
                "first_name",
                // The same as a form body.
                Value::Null,
            ),
        ];
        for (method, path, field, body) in requests {
            let url = format!("{store}{path}");
            let r = if body.is_null() {
                app.post_form(
                    &url,
                    &form(&[
                        ("customer[first_name]", bad),
                        ("customer[email]", &format!("f{n}@example.com")),
                    ]),
                )
            } else if method == "PATCH" {
                app.patch(&url, &body)
            } else {
                app.post(&url, &body)
            };
            assert_refused(&r, field, what);
        }
    }
    // Nothing was stored.
    assert_eq!(
        app.get_ok(&app.store_path("/customers"))["pagination"]["count"],
        0
    );
    assert_eq!(
        app.get_ok(&app.store_path("/cards?scope=all"))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get_ok(&app.store_path("/rewards"))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get_ok(&app.store_path("/locations"))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get_ok(&app.store_path("/posters"))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let account = app.get_ok(&app.store_path(""));
    assert_eq!(account["name"], "Test Store", "{account}");
}

#[test]
fn the_signup_page_refuses_hidden_and_controlling_characters_in_names() {
    let app = app();
    let card_id = app.create_card(json!({"name": "Coffee", "stamps_required": 5}))["id"].clone();
    let poster = app.post_ok(
        &app.store_path("/posters"),
        json!({"poster": {"card_id": card_id, "title": "Join"}}),
    );
    let url = poster["signup_url"].as_str().unwrap();
    for (what, bad) in REFUSED {
        for field in ["first_name", "last_name"] {
            let n = crate::stamps::unique();
            let email = format!("s{n}@example.com");
            let mut fields = vec![("first_name", "Ann"), ("email", email.as_str())];
            fields.retain(|(k, _)| *k != field);
            fields.push((field, bad));
            let (status, html) = submit_signup(url, &fields);
            assert_eq!(status, 422, "{field} with {what}: {html}");
            assert!(
                html.contains(&format!("id=\"{field}-error\"")) && html.contains(NOT_ALLOWED),
                "{field} with {what}: {html}"
            );
        }
    }
    assert_eq!(
        app.get_ok(&app.store_path("/customers"))["pagination"]["count"],
        0
    );
}

#[test]
fn names_in_any_script_with_their_joiners_are_kept_as_given() {
    let app = app();
    for (first, last) in [
        ("Zoë", "O'Brien"),
        ("محمد", "علی\u{200C}زاده"),
        ("क्\u{200D}षमा", "李"),
        ("Family", "👨\u{200D}👩\u{200D}👧"),
    ] {
        let n = crate::stamps::unique();
        let c = app.create_customer(json!({"customer": {
            "first_name": first, "last_name": last, "email": format!("k{n}@example.com")
        }}));
        assert_eq!(c["first_name"], first);
        assert_eq!(c["last_name"], last);
    }
    let card = app.create_card(json!({"name": "Café 🏳️\u{200D}🌈", "stamps_required": 5}));
    assert_eq!(card["name"], "Café 🏳️\u{200D}🌈");
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Opens the signup form (for its CSRF field and cookie) and posts `fields` with them:
/// (status, page).
fn submit_signup(url: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let page = agent.get(url).call().expect("the signup form");
    let cookie = page
        .header("Set-Cookie")
        .and_then(|c| c.split(';').next())
        .expect("the form's cookie")
        .to_string();
    let html = page.into_string().unwrap();
    let at = html.find("name=\"csrf\"").expect("a csrf field");
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let value_at = tag.find("value=\"").expect("a csrf value") + 7;
    let csrf = &tag[value_at..value_at + tag[value_at..].find('"').unwrap()];
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    let result = agent
        .post(url)
        .set("Cookie", &cookie)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&form(&all));
    let resp = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    (resp.status(), resp.into_string().unwrap())
}
