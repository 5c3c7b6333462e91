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

/// RapiDoc draws the reference in headless Chromium, under the page's own policy: every
/// operation's summary ends up in its shadow DOM.
#[test]
fn the_reference_draws_the_operations_in_a_browser() {
    use crate::support::browser::{
        browser_available, corner_coffee, screenshot_dir, CHROMEDRIVER, CHROMIUM,
    };
    use crate::support::webdriver::Driver;
    use std::path::Path;

    let Some(_one_at_a_time) = browser_available("the_reference_draws_the_operations") else {
        return;
    };
    let app = corner_coffee();
    let driver = Driver::start(Path::new(CHROMEDRIVER));
    let page = driver.session(Path::new(CHROMIUM), 1280, 800);
    let drawn = |needle: &str| {
        page.execute(
            "const r = document.querySelector('rapi-doc');\
             return Boolean(r && r.shadowRoot && r.shadowRoot.textContent.includes(arguments[0]));",
            json!([needle]),
        ) == json!(true)
    };
    for (width, height, name) in [(1280, 800, "landscape"), (768, 1024, "portrait")] {
        page.set_window_size(width, height);
        page.goto(&format!("{}/docs", app.base));
        page.wait_for_text("h1", "stampd API v1");
        for summary in [
            "Create a poster",
            "The store's posters",
            "Create a card template",
            "Change a poster",
        ] {
            page.wait_until(&format!("RapiDoc to draw {summary:?}"), || {
                drawn(summary).then_some(())
            });
        }
        page.screenshot(&screenshot_dir().join(format!("30-docs-{name}.png")));
    }
    assert!(
        !drawn("No operation drawn by this name"),
        "the probe can fail"
    );
}
