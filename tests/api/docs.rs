//! The status's Leal fields and the API reference they point to (`/docs`).

use serde_json::json;

use crate::support::app::*;

#[test]
fn status_carries_the_fields_leal_clients_read() {
    let app = spawn_app_with(|s| {
        s.public_url = Some("https://shop.example.com".into());
        s.rate_limit_per_minute = 90;
    });
    let r = app.request("GET", "/api/v1/status", None, None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body;
    assert_eq!(s["documentation_url"], "https://shop.example.com/docs");
    assert_eq!(s["developer_portal_url"], "https://shop.example.com/docs");
    assert_eq!(
        s["openapi_url"],
        "https://shop.example.com/api/v1/openapi.json"
    );
    assert!(s["authentication"]
        .as_str()
        .is_some_and(|a| a.contains("Authorization: Bearer")));
    assert_eq!(s["rate_limit"]["limit"], 90);
    assert_eq!(s["rate_limit"]["window_seconds"], 60);
    assert_eq!(s["rate_limit"]["scope"], "token");
    assert_eq!(
        s["versioning"],
        json!({
            "current": "v1",
            "supported": ["v1"],
            "deprecated": [],
            "policy_url": "https://shop.example.com/docs#versioning",
            "signalling": s["versioning"]["signalling"],
        })
    );
    assert!(s["versioning"]["signalling"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));

    let unlimited = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let r = unlimited.request("GET", "/api/v1/status", None, None, None);
    assert_eq!(r.body["rate_limit"]["limit"], 0, "0 when unlimited");
    assert!(
        r.body["documentation_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/docs")),
        "without public_url the served address: {}",
        r.body
    );
}

#[test]
fn the_reference_is_served_from_the_binary_under_its_own_policy() {
    let app = spawn_app();
    let page = app.get_page("/docs", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(!csp.contains("http"), "no other origin: {csp}");
    assert!(page.text.contains("id=\"versioning\""));
    assert!(page
        .text
        .contains(r#"<script type="module" src="/docs/rapidoc-min.js"></script>"#));
    assert!(page.text.contains(r#"spec-url="/api/v1/openapi.json""#));
    assert!(!page.text.contains("<script>"), "no inline script");

    let renderer = app.get_page("/docs/rapidoc-min.js", &[]);
    assert_eq!(renderer.status, 200);
    assert_eq!(
        renderer.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        renderer.bytes,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/web/vendor/rapidoc/rapidoc-min.js"
        ))
        .unwrap()
    );
    let etag = renderer.header("etag").unwrap_or_default().to_string();
    assert_eq!(
        app.get_page("/docs/rapidoc-min.js", &[("If-None-Match", &etag)])
            .status,
        304
    );
    let style = app.get_page("/docs/docs.css", &[]);
    assert_eq!(style.status, 200);
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );
}
