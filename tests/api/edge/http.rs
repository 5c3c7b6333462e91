//! HTTP at the edge: HEAD on every GET route, CORS origins compared whole, and wallet
//! links that lead nowhere answering 404.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::support::app::{fetch, spawn_app_with, TestApp};

/// One answer read off the wire to its end: status, headers (lower-case names) and
/// the bytes after the head.
struct Wire {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `method path` with the store's token and `Connection: close`, read until the server
/// closes (so a HEAD answer's missing body is seen as missing, not awaited).
fn over_the_wire(app: &TestApp, method: &str, path: &str) -> Wire {
    let mut s = TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        app.port, app.token
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read to the end");
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: {:?}", String::from_utf8_lossy(&all)));
    let head = String::from_utf8_lossy(&all[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.sort();
    Wire {
        status,
        headers,
        body: all[end + 4..].to_vec(),
    }
}

/// Every GET route with real data behind it: the API's (from `api_route_list()`), the
/// counter page and its assets, the web card and its QR code, posters and signup
/// pages, and the wallet links and pass web service.
fn get_routes(app: &TestApp) -> Vec<String> {
    let card = app.create_card(json!({"name": "Coffee", "stamps_required": 10}))["id"]
        .as_i64()
        .unwrap();
    let reward = app.create_reward(card, "Free coffee", 2)["id"]
        .as_i64()
        .unwrap();
    let customer = app.enrol("Ann", "Lee", "ann@example.com", card);
    let customer_id = customer["id"].as_i64().unwrap();
    let cc = &customer["customer_card"];
    let cc_id = cc["id"].as_i64().unwrap();
    let uuid = cc["uuid"].as_str().unwrap().to_string();
    let location = app.post_ok(
        &app.store_path("/locations"),
        json!({"location": {"name": "Main St", "address": "1 Main St"}}),
    )["id"]
        .as_i64()
        .unwrap();
    let poster = app.post_ok(
        &app.store_path("/posters"),
        json!({"poster": {"card_id": card, "title": "Join us"}}),
    );
    let poster_id = poster["id"].as_i64().unwrap();
    let webhook = app.post_ok(
        &app.store_path("/webhook_subscriptions"),
        json!({"target_url": "https://hooks.invalid/in", "events": ["*"]}),
    )["id"]
        .as_i64()
        .unwrap();
    let token = poster["signup_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    let staff = crate::staff::add_staff(app, "Sam", "1234", "staff");
    let (_, device) = crate::staff::pair_device(app, "Tablet");

    let mut routes = Vec::new();
    for (template, method) in stampd::api::api_route_list() {
        if method.as_str() != "GET" {
            continue;
        }
        let segments: Vec<&str> = template.split('/').collect();
        let path: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, segment)| {
                let before = i.checked_sub(1).map(|j| segments[j]);
                match (*segment, before) {
                    ("{account_id}", _) => app.store_id.to_string(),
                    ("{customer_id}", _) => customer_id.to_string(),
                    ("{id}", Some("cards")) => card.to_string(),
                    ("{id}", Some("rewards")) => reward.to_string(),
                    ("{id}", Some("customers")) => customer_id.to_string(),
                    ("{id}", Some("customer_cards")) => cc_id.to_string(),
                    ("{id}", Some("locations")) => location.to_string(),
                    ("{id}", Some("posters")) => poster_id.to_string(),
                    ("{id}", Some("webhook_subscriptions")) => webhook.to_string(),
                    ("{id}", Some("staff")) => staff.to_string(),
                    ("{id}", Some("devices")) => device.to_string(),
                    (s, _) if s.starts_with('{') => panic!("no data for {s} in {template}"),
                    (s, _) => s.to_string(),
                }
            })
            .collect();
        routes.push(path.join("/"));
    }
    assert!(routes.len() >= 12, "only {} API GET routes", routes.len());
    routes.extend([
        "/".to_string(),
        "/assets/vocab.js".to_string(),
        "/assets/app.js".to_string(),
        format!("/c/{uuid}"),
        format!("/c/{uuid}/qr.svg"),
        format!("/posters/{token}"),
        format!("/s/{token}"),
        format!("/passes/{uuid}.pkpass"),
        format!("/passes/{uuid}/google"),
        "/passes/assets/program-logo.png".to_string(),
        "/passes/v1/devices/device1/registrations/pass.test".to_string(),
        format!("/passes/v1/passes/pass.test/{uuid}"),
    ]);
    routes
}

/// HEAD answers every GET route with GET's status and headers (Content-Length
/// included) and no body.
#[test]
fn head_works_on_every_get_route() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let mut wrong = Vec::new();
    for path in get_routes(&app) {
        let get = over_the_wire(&app, "GET", &path);
        let head = over_the_wire(&app, "HEAD", &path);
        // The date moves, and the signup form's cookie carries a new token each time.
        let comparable = |w: &Wire| -> Vec<(String, String)> {
            w.headers
                .iter()
                .filter(|(k, _)| k != "date")
                .map(|(k, v)| match k.as_str() {
                    "set-cookie" => (k.clone(), v.split('=').next().unwrap_or("").to_string()),
                    _ => (k.clone(), v.clone()),
                })
                .collect()
        };
        if head.status != get.status {
            wrong.push(format!(
                "{path}: HEAD {} but GET {}",
                head.status, get.status
            ));
        } else if comparable(&head) != comparable(&get) {
            wrong.push(format!(
                "{path}: headers differ\n  HEAD {:?}\n  GET  {:?}",
                head.headers, get.headers
            ));
        } else if !head.body.is_empty() {
            wrong.push(format!("{path}: HEAD sent {} body bytes", head.body.len()));
        } else if head.header("content-length") != Some(get.body.len().to_string().as_str())
            && head.header("transfer-encoding").is_none()
        {
            wrong.push(format!(
                "{path}: HEAD says content-length {:?}, GET sent {} bytes",
                head.header("content-length"),
                get.body.len()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn allowed_origin(app: &TestApp, method: &str, origin: &str) -> Option<String> {
    let headers = [
        ("Origin", origin),
        ("Access-Control-Request-Method", "POST"),
    ];
    let headers = if method == "OPTIONS" {
        &headers[..]
    } else {
        &headers[..1]
    };
    let token = (method != "OPTIONS").then_some(app.token.as_str());
    let r = app.request_with_headers(method, "/api/v1/accounts", token, None, None, headers);
    r.header("access-control-allow-origin").map(str::to_string)
}

/// stampd's own origin is allowed only whole: the same host and port under another
/// scheme is another site. Behind a proxy, `public_url`'s origin is stampd's own too.
#[test]
fn cors_compares_the_whole_origin() {
    let app = spawn_app_with(|s| {
        s.cors_allowed_origins = vec!["https://partner.example".into()];
        s.public_url = Some("https://cards.shop.example".into());
    });
    let own = format!("http://127.0.0.1:{}", app.port);
    for method in ["GET", "OPTIONS"] {
        for refused in [
            format!("https://127.0.0.1:{}", app.port),
            format!("ftp://127.0.0.1:{}", app.port),
            format!("http://127.0.0.1:{}.evil.example", app.port),
            "http://cards.shop.example".to_string(),
            "https://cards.shop.example:8443".to_string(),
        ] {
            assert_eq!(
                allowed_origin(&app, method, &refused),
                None,
                "{method} from {refused}"
            );
        }
        for allowed in [
            own.as_str(),
            "https://cards.shop.example",
            "https://partner.example",
        ] {
            assert_eq!(
                allowed_origin(&app, method, allowed).as_deref(),
                Some(allowed),
                "{method} from {allowed}"
            );
        }
    }
}

/// Wallet links of a card that does not exist (or no longer does) answer 404 instead
/// of redirecting to a web card page that is not there.
#[test]
fn wallet_links_of_unknown_cards_answer_404() {
    let app = spawn_app_with(|_| {});
    let card = app.create_card(json!({"name": "Coffee"}))["id"]
        .as_i64()
        .unwrap();
    let customer = app.enrol("Ann", "Lee", "ann@example.com", card);
    let uuid = customer["customer_card"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let unknown = "9b2f4a9e-3f0c-4d8e-9a51-2d1f8c0e7b6a";
    for link in ["/passes/{}.pkpass", "/passes/{}/google"] {
        let url = |u: &str| format!("{}{}", app.base, link.replace("{}", u));
        let r = fetch("GET", &url(&uuid), &[], None);
        assert_eq!(r.status, 302, "{link} of a card: {}", r.text);
        let r = fetch("GET", &url(unknown), &[], None);
        assert_eq!(r.status, 404, "{link} of an unknown uuid: {}", r.text);
    }
    let r = app.delete(&app.store_path(&format!("/customers/{}", customer["id"])));
    assert_eq!(r.status, 204, "{}", r.text);
    for link in [
        format!("/passes/{uuid}.pkpass"),
        format!("/passes/{uuid}/google"),
    ] {
        let r = fetch("GET", &format!("{}{link}", app.base), &[], None);
        assert_eq!(
            r.status, 404,
            "{link} of an erased customer's card: {}",
            r.text
        );
    }
}
