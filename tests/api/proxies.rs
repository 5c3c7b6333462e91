//! Behind a reverse proxy (`trusted_proxies`): only from a trusted peer are
//! `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` believed — for the signup
//! limit, the address rate limit, the connection cap, the access log and the signup
//! cookie's Secure flag — and from anyone else a forged header moves nothing. Links come
//! from `public_url` alone, whatever `Host` or forwarding headers say.
//!
//! The proxy and the other clients are loopback addresses of their own (127.0.0.x).

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};
use stampd::edge::peer::AddressRange;

use crate::edge::{connect_from, loopback};
use crate::support::app::*;

const PROXY: u8 = 2;
const STRANGER: u8 = 3;

fn trusting_the_proxy(s: &mut stampd::config::Settings) {
    s.trusted_proxies = vec![AddressRange::parse("127.0.0.2").unwrap()];
}

/// One request from 127.0.0.`from` with extra header lines.
fn request(
    app: &TestApp,
    from: u8,
    method: &str,
    path: &str,
    headers: &[String],
    body: &str,
) -> Resp {
    let mut stream = connect_from(loopback(from), app.port).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    parse_response(&buf, true).expect("an answer")
}

/// A poster's signup path (`/s/<token>`).
fn signup_path(app: &TestApp) -> String {
    let card = app.create_card(json!({"name": "Coffee Card"}))["id"].clone();
    let r = app.post(
        &app.store_path("/posters"),
        &json!({"poster": {"card_id": card, "title": "Join"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["signup_url"].as_str().unwrap();
    format!("/s/{}", url.rsplit('/').next().unwrap())
}

/// The form as 127.0.0.`from` sees it: (the Set-Cookie header, the csrf value).
fn open_form(app: &TestApp, path: &str, from: u8, headers: &[String]) -> (String, String) {
    let page = request(app, from, "GET", path, headers, "");
    assert_eq!(page.status, 200, "{}", page.text);
    let set_cookie = page.header("set-cookie").expect("a cookie").to_string();
    let at = page.text.find("name=\"csrf\"").expect("csrf field");
    let tag = &page.text[page.text[..at].rfind('<').unwrap()..];
    let value = tag.split("value=\"").nth(1).unwrap();
    (set_cookie, value[..value.find('"').unwrap()].to_string())
}

/// Signs up `email` from 127.0.0.`from` with `headers` on both requests: the status.
fn sign_up(app: &TestApp, path: &str, from: u8, headers: &[String], email: &str) -> u16 {
    let (set_cookie, csrf) = open_form(app, path, from, headers);
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let mut all = headers.to_vec();
    all.push(format!("Cookie: {cookie}"));
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("first_name", "Ann")
        .append_pair("email", email)
        .append_pair("consent", "1")
        .finish();
    request(app, from, "POST", path, &all, &body).status
}

fn xff(value: &str) -> Vec<String> {
    vec![format!("X-Forwarded-For: {value}")]
}

#[test]
fn a_forged_x_forwarded_for_moves_no_signup_limit_but_a_trusted_proxys_does() {
    let app = spawn_app_with(|s| {
        trusting_the_proxy(s);
        s.signup_rate_limit_per_hour = 1;
    });
    let path = signup_path(&app);
    // Anyone else writing the header still counts as themselves.
    assert_eq!(
        sign_up(&app, &path, STRANGER, &xff("203.0.113.1"), "a@example.com"),
        303
    );
    assert_eq!(
        sign_up(&app, &path, STRANGER, &xff("203.0.113.2"), "b@example.com"),
        429,
        "a made-up address does not get a new allowance"
    );
    // Through the proxy, each client has its own allowance...
    assert_eq!(
        sign_up(&app, &path, PROXY, &xff("203.0.113.1"), "c@example.com"),
        303
    );
    assert_eq!(
        sign_up(&app, &path, PROXY, &xff("203.0.113.2"), "d@example.com"),
        303
    );
    let forwarded = vec!["Forwarded: for=\"203.0.113.3:4711\";proto=https".to_string()];
    assert_eq!(
        sign_up(&app, &path, PROXY, &forwarded, "e@example.com"),
        303
    );
    // ...and a client cannot get another one by writing a header the proxy passes on:
    // the proxy appends the address it saw.
    assert_eq!(
        sign_up(
            &app,
            &path,
            PROXY,
            &xff("198.51.100.7, 203.0.113.1"),
            "f@example.com"
        ),
        429
    );
    assert_eq!(
        sign_up(&app, &path, PROXY, &xff("203.0.113.2"), "g@example.com"),
        429
    );
}

#[test]
fn the_address_rate_limit_counts_the_client_a_trusted_proxy_reports() {
    let app = spawn_app_with(|s| {
        trusting_the_proxy(s);
        s.rate_limit_per_address_per_minute = 2;
    });
    let status = |from, headers: Vec<String>| {
        request(&app, from, "GET", "/api/v1/status", &headers, "").status
    };
    for _ in 0..2 {
        assert_eq!(status(PROXY, xff("203.0.113.1")), 200);
    }
    assert_eq!(status(PROXY, xff("203.0.113.1")), 429);
    assert_eq!(status(PROXY, xff("203.0.113.2")), 200, "another client");
    for n in 0..2 {
        assert_eq!(status(STRANGER, xff(&format!("198.51.100.{n}"))), 200);
    }
    assert_eq!(status(STRANGER, xff("198.51.100.9")), 429);
}

#[test]
fn a_trusted_proxys_connections_are_not_capped_as_one_clients() {
    let app = spawn_app_with(|s| {
        trusting_the_proxy(s);
        s.max_connections_per_address = 2;
    });
    // Three connections held open (each has sent nothing yet), then a fourth asks.
    let held: Vec<_> = (0..3)
        .map(|_| connect_from(loopback(PROXY), app.port).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let r = request(&app, PROXY, "GET", "/api/v1/status", &[], "");
    assert_eq!(r.status, 200, "the proxy carries many clients' connections");
    drop(held);
    // Anyone else is still capped: of three connections, one is closed at once.
    let three: Vec<_> = (0..3)
        .map(|_| connect_from(loopback(STRANGER), app.port).expect("connect"))
        .collect();
    let closed = three
        .iter()
        .filter(|c| {
            let mut c: &std::net::TcpStream = c;
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 16];
            match c.read(&mut buf) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            }
        })
        .count();
    assert_eq!(closed, 1, "one connection past the cap of another client");
}

#[test]
fn the_cookie_is_secure_when_a_trusted_proxy_says_the_client_used_https() {
    let app = spawn_app_with(trusting_the_proxy);
    let path = signup_path(&app);
    let secure = |from, header: &str| {
        let (set_cookie, _) = open_form(&app, &path, from, &[header.to_string()]);
        set_cookie.to_ascii_lowercase().contains("; secure")
    };
    assert!(secure(PROXY, "X-Forwarded-Proto: https"));
    assert!(secure(PROXY, "Forwarded: for=203.0.113.4;proto=https"));
    assert!(!secure(PROXY, "X-Forwarded-Proto: http"));
    assert!(
        !secure(STRANGER, "X-Forwarded-Proto: https"),
        "from anyone else the header is ignored"
    );
}

/// Every absolute http(s) URL in `text`.
fn urls(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        for (at, _) in text.match_indices(scheme) {
            let end = text[at..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
                .map_or(text.len(), |e| at + e);
            found.push(text[at..end].to_string());
        }
    }
    found
}

#[test]
fn links_come_from_public_url_whatever_host_and_forwarding_headers_say() {
    const PUBLIC: &str = "https://loyalty.example.com";
    let app = spawn_app_with(|s| {
        s.public_url = Some(PUBLIC.into());
        s.trusted_proxies = vec![AddressRange::parse("127.0.0.0/8").unwrap()];
    });
    let forged = [
        "Host: evil.example".to_string(),
        "X-Forwarded-Host: evil.example".to_string(),
        "X-Forwarded-Proto: http".to_string(),
        "X-Forwarded-For: 203.0.113.5".to_string(),
        "Forwarded: for=203.0.113.5;host=evil.example;proto=http".to_string(),
        format!("Authorization: Bearer {}", app.token),
        "Content-Type: application/json".to_string(),
    ];
    let send = |method: &str, path: &str, body: &Value| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", app.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\n{}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            forged.join("\r\n"),
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        parse_response(&buf, true).expect("an answer")
    };
    let card = send(
        "POST",
        &app.store_path("/cards"),
        &json!({"card": {"name": "Coffee"}}),
    );
    assert_eq!(card.status, 201, "{}", card.text);
    let card_id = &card.body["id"];
    let customer = send(
        "POST",
        &app.store_path("/customers"),
        &json!({"customer": {"first_name": "Ann", "email": "ann@example.com"}, "card_id": card_id}),
    );
    assert_eq!(customer.status, 201, "{}", customer.text);
    let uuid = customer.body["customer_card"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let poster = send(
        "POST",
        &app.store_path("/posters"),
        &json!({"poster": {"card_id": card_id, "title": "Join"}}),
    );
    assert_eq!(poster.status, 201, "{}", poster.text);
    let token = poster.body["signup_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let customer_id = &customer.body["id"];
    let answers = [
        customer.clone(),
        poster.clone(),
        send(
            "GET",
            &app.store_path(&format!("/customers/{customer_id}")),
            &Value::Null,
        ),
        send("GET", &app.store_path("/posters"), &Value::Null),
        send("GET", &format!("/c/{uuid}"), &Value::Null),
        send("GET", &format!("/s/{token}"), &Value::Null),
        send("GET", &format!("/posters/{token}"), &Value::Null),
        send("GET", &format!("/passes/{uuid}.pkpass"), &Value::Null),
        send("GET", &format!("/passes/{uuid}/google"), &Value::Null),
        send("GET", "/assets/vocab.js", &Value::Null),
    ];
    let mut links = 0;
    for r in &answers {
        assert!(r.status < 400, "{} {}", r.status, r.text);
        let whole = format!("{:?} {}", r.headers, r.text);
        assert!(!whole.contains("evil"), "a forged host leaked: {whole}");
        for url in urls(&whole) {
            if url.starts_with("http://www.w3.org/") {
                continue; // XML namespaces of inline SVG
            }
            assert!(url.starts_with(&format!("{PUBLIC}/")), "{url} in {whole}");
            links += 1;
        }
    }
    assert!(links >= 8, "the answers carry public links ({links})");
}

/// The access log line of a request from 127.0.0.1 with `X-Forwarded-For:
/// 203.0.113.8`, to a binary whose config has `settings`.
fn access_line(settings: &[(&str, &str)]) -> String {
    use crate::support::binary::{Env, Server};
    let env = Env::new(settings);
    let server = Server::start(&env);
    let r = fetch(
        "GET",
        &server.url("/api/v1/openapi.json"),
        &[("X-Forwarded-For", "203.0.113.8")],
        None,
    );
    assert_eq!(r.status, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.log_text();
        if let Some(line) = log.lines().find(|l| l.contains("/api/v1/openapi.json")) {
            return line.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_access_log_shows_the_client_a_trusted_proxy_reports_and_no_one_elses() {
    let line = access_line(&[("trusted_proxies", "[\"127.0.0.1\"]")]);
    assert!(
        line.contains(" 203.0.113.8 \"GET /api/v1/openapi.json"),
        "{line}"
    );
    let line = access_line(&[]);
    assert!(
        line.contains(" 127.0.0.1 \"GET /api/v1/openapi.json"),
        "{line}"
    );
    assert!(!line.contains("203.0.113.8"), "{line}");
}
