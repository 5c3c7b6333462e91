//! Automatic HTTPS against Let's Encrypt's test CA, pebble: stampd obtains a
//! certificate through a real challenge that pebble validates against stampd itself
//! (TLS-ALPN-01 on its HTTPS port, HTTP-01 on its plain one), serves the API over TLS
//! with it, redirects plain HTTP (except the challenge path), keeps the account and
//! certificate private beside the database, and renews a certificate close to expiry
//! while serving. `cargo test acme` runs these.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use stampd::config::{AcmeChallenge, AcmeSettings, Settings, TlsSettings};

use crate::support::app::{fetch, test_settings};
use crate::support::pebble::{pebble_available, Pebble, PebbleSetup};
use crate::support::tls::{served_certificate, HttpsApp, TestCa};

const DOMAIN: &str = "shop.stampd.test";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Settings for HTTPS on 127.0.0.1 with certificates from `pebble`.
fn acme_settings(dir: &Path, pebble: &PebbleSetup, challenge: AcmeChallenge) -> Settings {
    Settings {
        https_bind: "127.0.0.1:0".into(),
        public_url: Some(format!("https://{DOMAIN}")),
        tls: Some(TlsSettings::Acme(AcmeSettings {
            domains: vec![DOMAIN.into()],
            email: Some("owner@example.com".into()),
            directory: pebble.directory(),
            ca_certificate: Some(pebble.ca_certificate.clone()),
            challenge,
        })),
        ..test_settings(&dir.join("stampd.db"))
    }
}

/// stampd with certificates from a pebble that validates against its ports.
fn start(dir: &Path, challenge: AcmeChallenge) -> (HttpsApp, Pebble) {
    let setup = PebbleSetup::new();
    let settings = acme_settings(dir, &setup, challenge);
    HttpsApp::start(settings, |https, http| setup.start(http, https))
}

#[test]
fn acme_certificate_through_tls_alpn_01_serves_https_and_plain_http_redirects() {
    if !pebble_available("acme_certificate_through_tls_alpn_01") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (app, pebble) = start(dir.path(), AcmeChallenge::TlsAlpn01);
    let root = pebble.issuing_root();
    let status = app.wait_trusted(DOMAIN, std::slice::from_ref(&root), Duration::from_secs(90));
    assert_eq!(status.status, 200, "{}", status.text);
    let log = pebble.logs();
    assert!(
        !log.contains("validate w/ HTTP"),
        "validated on the HTTPS port, not over plain HTTP: {log}"
    );

    // The account and the certificate are kept beside the database, private.
    let folder = pebble.setup().stampd_folder(dir.path());
    assert_eq!(mode(&dir.path().join("acme")), 0o700);
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&folder.join("account.json")), 0o600);
    for file in ["certificate.pem", "private_key.pem"] {
        assert_eq!(mode(&folder.join(DOMAIN).join(file)), 0o600, "{file}");
    }
    let stored = std::fs::read(folder.join(DOMAIN).join("certificate.pem")).unwrap();
    let served = served_certificate(app.https_port, DOMAIN, &[root]).expect("handshake");
    let stored_leaf = CertificateDer::from_pem_slice(&stored).expect("stored PEM");
    assert_eq!(
        served, stored_leaf,
        "the stored certificate is the one served"
    );

    // Plain HTTP sends everything to HTTPS at the public address, path and query kept.
    let plain = format!("http://127.0.0.1:{}", app.http_port);
    let r = fetch("GET", &format!("{plain}/api/v1/status?x=1"), &[], None);
    assert_eq!(r.status, 308, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("https://{DOMAIN}/api/v1/status?x=1").as_str())
    );
    let r = fetch("POST", &format!("{plain}/s/abc"), &[], Some(b"a=1"));
    assert_eq!(r.status, 308, "a POST is redirected as a POST");
    // ...except the challenge path, which is never redirected.
    let r = fetch(
        "GET",
        &format!("{plain}/.well-known/acme-challenge/not-a-token"),
        &[],
        None,
    );
    assert_eq!(r.status, 404, "{:?}", r.headers);
    assert_eq!(r.header("location"), None);
}

#[test]
fn acme_certificate_through_http_01_answered_on_the_plain_port() {
    if !pebble_available("acme_certificate_through_http_01") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (app, pebble) = start(dir.path(), AcmeChallenge::Http01);
    let root = pebble.issuing_root();
    let status = app.wait_trusted(DOMAIN, &[root], Duration::from_secs(90));
    assert_eq!(status.status, 200);
    let log = pebble.logs();
    let asked = format!(
        "validate w/ HTTP: http://{DOMAIN}:{}/.well-known/acme-challenge/",
        app.http_port
    );
    assert!(
        log.contains(&asked),
        "pebble validated on the plain port: {log}"
    );
}

#[test]
fn acme_renews_a_certificate_close_to_expiry_while_serving() {
    if !pebble_available("acme_renews_a_certificate_close_to_expiry") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let setup = PebbleSetup::new();
    // A certificate with 60 of its 90 seconds left: served at start, renewed when a
    // third of its lifetime is left, 30 seconds in.
    let old_ca = TestCa::new("an earlier CA");
    let now = SystemTime::now();
    let (cert, key) = old_ca.issue(
        &[DOMAIN],
        now - Duration::from_secs(30),
        now + Duration::from_secs(60),
    );
    let stored = setup.stampd_folder(dir.path()).join(DOMAIN);
    std::fs::create_dir_all(&stored).unwrap();
    std::fs::write(stored.join("certificate.pem"), &cert).unwrap();
    std::fs::write(stored.join("private_key.pem"), &key).unwrap();

    let settings = acme_settings(dir.path(), &setup, AcmeChallenge::TlsAlpn01);
    let (app, pebble) = HttpsApp::start(settings, |https, http| setup.start(http, https));
    let old = served_certificate(app.https_port, DOMAIN, &[old_ca.root()])
        .expect("the stored certificate is served at once");
    let r = app
        .get(DOMAIN, "/api/v1/status", &[old_ca.root()])
        .expect("HTTPS");
    assert_eq!(r.status, 200);

    // The same server, never restarted, presents pebble's certificate before the old
    // one expires.
    let root = pebble.issuing_root();
    app.wait_trusted(DOMAIN, std::slice::from_ref(&root), Duration::from_secs(55));
    let new = served_certificate(app.https_port, DOMAIN, &[root]).expect("handshake");
    assert_ne!(new, old);
    assert!(
        served_certificate(app.https_port, DOMAIN, &[old_ca.root()]).is_err(),
        "the old certificate is no longer served"
    );
    assert_ne!(
        std::fs::read_to_string(stored.join("certificate.pem")).unwrap(),
        cert
    );
    assert_eq!(mode(&stored.join("certificate.pem")), 0o600);
    assert_eq!(mode(&stored.join("private_key.pem")), 0o600);
}
