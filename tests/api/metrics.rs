//! `GET /metrics`: parsed as Prometheus text (with a parser, as a scraper would read
//! it), counting the requests the server answered by route template and status;
//! refused without its token where one is set; off by default; on a separate address
//! when `metrics_bind` is set; never reachable from other machines without a token.

use std::collections::BTreeMap;

use prometheus_parse::{Scrape, Value};
use serde_json::json;

use crate::support::app::{fetch, spawn_app, spawn_app_with, start_error, test_settings, TestApp};

const TOKEN: &str = "metrics-secret-0123456789abcdef";

/// A scrape of `url` with `token`, parsed.
fn scrape(url: &str, token: Option<&str>) -> Scrape {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = fetch("GET", url, &headers, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let lines = r.text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).expect("Prometheus text")
}

/// The samples of `metric` whose labels include `labels`.
fn values(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<Value> {
    s.samples
        .iter()
        .filter(|x| x.metric == metric)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| x.value.clone())
        .collect()
}

/// The one value of a counter or gauge (0 when there is no such sample yet).
fn number(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match values(s, metric, labels).as_slice() {
        [] => 0.0,
        [Value::Counter(v)] | [Value::Gauge(v)] | [Value::Untyped(v)] => *v,
        other => panic!("{metric} {labels:?}: {other:?}"),
    }
}

/// The observations of a histogram (its +Inf bucket).
fn observations(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match values(s, metric, labels).as_slice() {
        [] => 0.0,
        [Value::Histogram(buckets)] => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map(|b| b.count)
            .expect("+Inf bucket"),
        other => panic!("{metric} {labels:?}: {other:?}"),
    }
}

const STORE_ROUTE: &str = "/api/v1/accounts/:account_id";
const CUSTOMER_ROUTE: &str = "/api/v1/accounts/:account_id/customers/:id";

#[test]
fn metrics_count_the_requests_served_and_need_the_token_on_the_server_address() {
    let app = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into()));
    let url = format!("{}/metrics", app.base);
    // Refused without the token, or with another.
    for auth in [None, Some("Bearer nope"), Some("Basic bWV0cmljczp4")] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        let r = fetch("GET", &url, &headers, None);
        assert_eq!(r.status, 401, "{auth:?}: {}", r.text);
        assert!(!r.text.contains("stampd_"), "{}", r.text);
    }
    let before = scrape(&url, Some(TOKEN));
    for _ in 0..3 {
        assert_eq!(app.get(&app.store_path("")).status, 200);
    }
    for _ in 0..2 {
        assert_eq!(app.get(&app.store_path("/customers/999999")).status, 404);
    }
    let after = scrape(&url, Some(TOKEN));
    let served = |s: &Scrape, route: &str, status: &str| {
        number(
            s,
            "stampd_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert_eq!(
        served(&after, STORE_ROUTE, "200") - served(&before, STORE_ROUTE, "200"),
        3.0
    );
    assert_eq!(
        served(&after, CUSTOMER_ROUTE, "404") - served(&before, CUSTOMER_ROUTE, "404"),
        2.0
    );
    // The refused scrapes count too, under the route they asked for.
    assert!(served(&after, "/metrics", "401") >= 3.0);
    let timed = |s: &Scrape| {
        observations(
            s,
            "stampd_http_request_duration_seconds",
            &[("method", "GET"), ("route", STORE_ROUTE)],
        )
    };
    assert_eq!(timed(&after) - timed(&before), 3.0);
    // A path's ids and secrets never become labels: only route templates do.
    assert!(after
        .samples
        .iter()
        .filter_map(|s| s.labels.get("route"))
        .all(|r| !r.contains("999999")));

    // The status route keeps answering without a token, and shows nothing of it.
    let status = fetch("GET", &format!("{}/api/v1/status", app.base), &[], None);
    assert_eq!(status.status, 200);
    assert!(!status.text.contains(TOKEN) && !status.text.contains("metrics"));
}

#[test]
fn metrics_report_the_writer_outbox_files_disk_and_backups() {
    let app = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into()));
    let card = app.create_card(json!({"name": "Coffee", "stamps_required": 10}));
    // Card links with no mail or SMS settings wait in the outbox as pending.
    let customer = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": "ann@example.com", "phone": "+14155550132"},
        "card_id": card["id"],
        "send_card_links": true,
    }));
    let cc = customer["customer_card"]["id"].as_i64().unwrap();
    let path = app.store_path(&format!(
        "/customers/{}/customer_cards/{cc}/stamp",
        customer["id"]
    ));
    for _ in 0..4 {
        assert_eq!(app.post(&path, &json!({"stamps": 1})).status, 200);
    }
    assert_eq!(app.get(&app.store_path("")).status, 200);
    let s = scrape(&format!("{}/metrics", app.base), Some(TOKEN));
    for channel in ["email", "sms"] {
        assert_eq!(
            number(
                &s,
                "stampd_outbox_messages",
                &[("channel", channel), ("status", "pending")]
            ),
            1.0,
            "{channel}"
        );
        assert_eq!(
            number(&s, "stampd_outbox_retrying", &[("channel", channel)]),
            0.0
        );
    }
    assert!(number(&s, "stampd_writer_commits_total", &[]) >= 6.0);
    assert!(observations(&s, "stampd_writer_group_jobs", &[]) >= 6.0);
    assert_eq!(number(&s, "stampd_writer_queue_jobs", &[]), 0.0);
    assert!(observations(&s, "stampd_read_queue_wait_seconds", &[]) >= 1.0);
    assert!(observations(&s, "stampd_read_pool_wait_seconds", &[]) >= 1.0);
    let db_size = std::fs::metadata(app.db_path()).unwrap().len() as f64;
    assert_eq!(number(&s, "stampd_database_bytes", &[]), db_size);
    assert!(number(&s, "stampd_wal_bytes", &[]) > 0.0);
    assert!(number(&s, "stampd_disk_free_bytes", &[]) > 0.0);
    let ratio = number(&s, "stampd_disk_free_ratio", &[]);
    assert!(ratio > 0.0 && ratio <= 1.0, "{ratio}");
    assert_eq!(number(&s, "stampd_database_check_running", &[]), 0.0);
    // No backup yet: the age is infinite, so an alert on it fires.
    assert_eq!(number(&s, "stampd_last_backup_timestamp_seconds", &[]), 0.0);
    assert!(number(&s, "stampd_last_backup_age_seconds", &[]).is_infinite());
    // Every metric has its help text.
    let names: BTreeMap<&str, ()> = s.samples.iter().map(|x| (x.metric.as_str(), ())).collect();
    for name in names.keys() {
        // A histogram's _sum and _count are its own.
        let base = ["_sum", "_count"]
            .iter()
            .find_map(|end| name.strip_suffix(end))
            .filter(|base| s.docs.contains_key(*base))
            .unwrap_or(name);
        assert!(s.docs.contains_key(base), "{name} has no HELP");
    }
}

#[test]
fn metrics_are_off_by_default() {
    let app = spawn_app();
    let r = fetch("GET", &format!("{}/metrics", app.base), &[], None);
    assert_eq!(r.status, 404, "{}", r.text);
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn metrics_on_a_separate_address_are_served_there_alone() {
    let port = free_port();
    let app: TestApp = spawn_app_with(|s| s.metrics_bind = Some(format!("127.0.0.1:{port}")));
    let there = format!("http://127.0.0.1:{port}");
    assert_eq!(app.get(&app.store_path("")).status, 200);
    // Loopback without a token: no token needed.
    let s = scrape(&format!("{there}/metrics"), None);
    assert_eq!(
        number(
            &s,
            "stampd_http_requests_total",
            &[("route", STORE_ROUTE), ("status", "200")]
        ),
        1.0
    );
    // The separate address serves nothing else, and the server's own no metrics.
    assert_eq!(
        fetch("GET", &format!("{there}/api/v1/status"), &[], None).status,
        404
    );
    assert_eq!(
        fetch("GET", &format!("{}/metrics", app.base), &[], None).status,
        404
    );
    // The scrapes of the separate address are not requests of the server's.
    let again = scrape(&format!("{there}/metrics"), None);
    assert!(values(
        &again,
        "stampd_http_requests_total",
        &[("route", "/metrics")]
    )
    .is_empty());
}

#[test]
fn metrics_on_a_separate_address_need_the_token_when_it_is_set() {
    let port = free_port();
    let app = spawn_app_with(|s| {
        s.metrics_bind = Some(format!("127.0.0.1:{port}"));
        s.metrics_token = Some(TOKEN.into());
    });
    let url = format!("http://127.0.0.1:{port}/metrics");
    assert_eq!(fetch("GET", &url, &[], None).status, 401);
    scrape(&url, Some(TOKEN));
    assert_eq!(
        fetch("GET", &format!("{}/metrics", app.base), &[], None).status,
        404
    );
}

#[test]
fn metrics_reachable_from_other_machines_need_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir.path().join("stampd.db"));
    settings.metrics_bind = Some("0.0.0.0:0".into());
    let err = start_error(settings);
    assert!(err.contains("metrics_token"), "{err}");
}
