//! The private-target guard: literal addresses, names resolving to loopback (through a
//! DNS stand-in, `pebble-challtestsrv`, that stampd asks via `webhook_dns_server`), a
//! name that turns private after the subscription was made, and the setting that
//! allows a shop's LAN. The sender never reaches a non-loopback address: the public
//! address a name has for a while is only ever checked, never connected to.

use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::support::pebble::{pebble_available, CHALLTESTSRV};

/// `pebble-challtestsrv` answering A queries from its own table only.
struct FakeDns {
    child: Child,
    dns: u16,
    management: u16,
}

fn free_port(udp: bool) -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if !udp || UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl FakeDns {
    fn start() -> FakeDns {
        let (dns, management) = (free_port(true), free_port(false));
        let child = Command::new(CHALLTESTSRV)
            .args(["-defaultIPv4", "", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{management}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv");
        let d = FakeDns {
            child,
            dns,
            management,
        };
        eventually(Duration::from_secs(10), "challtestsrv up", || {
            std::net::TcpStream::connect(("127.0.0.1", management)).is_ok()
        });
        d
    }

    fn server(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.dns).into()
    }

    /// `host` resolves to `address` (and only that) from now on.
    fn set(&self, host: &str, address: &str) {
        let base = format!("http://127.0.0.1:{}", self.management);
        let _ = ureq::post(&format!("{base}/clear-a")).send_json(json!({"host": host}));
        ureq::post(&format!("{base}/add-a"))
            .send_json(json!({"host": host, "addresses": [address]}))
            .expect("add-a");
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn webhook_private_targets_are_refused_at_create_and_at_delivery() {
    if !pebble_available("webhook_private_targets_are_refused_at_create_and_at_delivery") {
        return;
    }
    let dns = FakeDns::start();
    let (app, rx) = hooked(|s| {
        s.webhooks_allow_private_targets = false;
        s.webhook_dns_server = Some(dns.server());
    });
    let path = app.store_path("/webhook_subscriptions");
    dns.set("inside.test", "127.0.0.1");
    for target in [
        format!("https://127.0.0.1:{}/hook", rx.port),
        "https://[::1]/hook".to_string(),
        "https://10.1.2.3/hook".to_string(),
        "https://169.254.169.254/latest".to_string(),
        "https://[::ffff:192.168.0.1]/".to_string(),
        format!("https://inside.test:{}/hook", rx.port),
        format!("http://127.0.0.1:{}/hook", rx.port),
    ] {
        let r = app.post(&path, &json!({"target_url": target, "events": ["*"]}));
        assert_eq!(r.status, 422, "{target}: {}", r.text);
        assert!(
            r.body["errors"]["target_url"].is_array(),
            "{target}: {}",
            r.text
        );
    }
    // A name public when saved, private when delivered to: the subscription is disabled
    // with `blocked_address` and nothing reaches the receiver.
    dns.set("shop-pos.test", "93.184.216.34");
    let sub = subscribe(
        &app,
        json!({"target_url": format!("https://shop-pos.test:{}/hook", rx.port), "events": ["stamp.earned"]}),
    );
    dns.set("shop-pos.test", "127.0.0.1");
    let (customer, cc) = enrolled(&app, 0);
    assert_eq!(stamp(&app, customer, cc, 1).status, 200);
    eventually(Duration::from_secs(15), "disabled", || {
        show(&app, &sub["id"])["enabled"] == false
    });
    let s = show(&app, &sub["id"]);
    assert_eq!(s["disabled_reason"], "blocked_address");
    assert!(
        s["last_delivery_error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{s}"
    );
    assert!(rx.received().is_empty());
    // `test` is refused the same way and reaches nothing.
    let r = app.post(&format!("{path}/{}/test", sub["id"]), &json!({}));
    assert_eq!(r.body["delivered"], false, "{}", r.text);
    assert!(rx.received().is_empty());
}

#[test]
fn webhook_private_targets_are_allowed_by_the_setting() {
    if !pebble_available("webhook_private_targets_are_allowed_by_the_setting") {
        return;
    }
    let dns = FakeDns::start();
    let ca = TestCa::new("LAN CA");
    let rx = Receiver::https(&ca, &["pos.lan.test"]);
    let plain = Receiver::http();
    let app = crate::support::app::spawn_app_in(|s, dir| {
        s.webhooks_allow_private_targets = true;
        s.webhook_dns_server = Some(dns.server());
        s.extra_ca_file = Some(ca.write(&dir.join("ca.pem")));
    });
    dns.set("pos.lan.test", "127.0.0.1");
    subscribe(
        &app,
        json!({"target_url": rx.url("pos.lan.test", "/in"), "events": ["stamp.earned"]}),
    );
    subscribe(
        &app,
        json!({"target_url": format!("http://127.0.0.1:{}/in", plain.port), "events": ["stamp.earned"]}),
    );
    let (customer, cc) = enrolled(&app, 0);
    stamp(&app, customer, cc, 1);
    assert_eq!(rx.wait_for(1, Duration::from_secs(15)).len(), 1);
    assert_eq!(plain.wait_for(1, Duration::from_secs(15)).len(), 1);
}
