//! HTTPS with the shop's own certificate (`tls_certificate`, `tls_private_key`, made
//! here with rcgen): served at once, a file replaced while serving picked up without a
//! restart (and a broken one not), read again on SIGHUP, plain HTTP redirected to the
//! host asked for, and files that do not belong together refused at start.

use std::io::{Read, Seek, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use stampd::config::{Settings, TlsSettings};

use crate::support::app::{fetch, start_error, test_settings};
use crate::support::binary::{free_port, Env};
use crate::support::tls::{https_get, https_get_with, served_certificate, HttpsApp, TestCa};

const HOST: &str = "shop.example.com";

/// Writes the pair into `dir` (`cert.pem`, `key.pem`): the key first, each by a
/// rename, as a careful renewal script would.
fn install(dir: &Path, (cert, key): &(String, String)) -> (PathBuf, PathBuf) {
    let put = |name: &str, text: &str| {
        let path = dir.join(name);
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    };
    let key = put("key.pem", key);
    (put("cert.pem", cert), key)
}

fn settings_for(dir: &Path, (certificate, private_key): (PathBuf, PathBuf)) -> Settings {
    Settings {
        https_bind: "127.0.0.1:0".into(),
        tls: Some(TlsSettings::Files {
            certificate,
            private_key,
        }),
        ..test_settings(&dir.join("stampd.db"))
    }
}

/// Waits (up to 20 s) until the server presents a certificate `root` vouches for.
fn wait_for(port: u16, root: &CertificateDer<'static>) -> CertificateDer<'static> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match served_certificate(port, HOST, std::slice::from_ref(root)) {
            Ok(leaf) => return leaf,
            Err(e) => assert!(
                Instant::now() < deadline,
                "the new certificate was not served within 20 s: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn own_certificate_files_are_served_and_a_replaced_file_is_picked_up_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestCa::new("the shop's first CA");
    let files = install(dir.path(), &first.issue_now(&[HOST]));
    let (app, ()) = HttpsApp::start(settings_for(dir.path(), files), |_, _| ());
    let r = app
        .get(HOST, "/api/v1/status", &[first.root()])
        .expect("HTTPS with the shop's certificate");
    assert_eq!(r.status, 200, "{}", r.text);

    // Renewed while serving: the next connections get the new certificate.
    let second = TestCa::new("the shop's next CA");
    install(dir.path(), &second.issue_now(&[HOST]));
    wait_for(app.https_port, &second.root());
    assert!(served_certificate(app.https_port, HOST, &[first.root()]).is_err());
    let r = app.get(HOST, "/api/v1/status", &[second.root()]).unwrap();
    assert_eq!(r.status, 200);

    // A file that cannot be used is not: the last good certificate stays.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    std::thread::sleep(stampd::tls::own_files::LOOK_EVERY * 3);
    let r = app.get(HOST, "/api/v1/status", &[second.root()]);
    assert_eq!(r.map(|r| r.status), Ok(200));

    // Plain HTTP (no public_url here) is sent to the host asked for, on the HTTPS port.
    let r = fetch(
        "GET",
        &format!("http://127.0.0.1:{}/c/x?y=1", app.http_port),
        &[("Host", HOST)],
        None,
    );
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://{HOST}:{}/c/x?y=1", app.https_port).as_str())
    );
}

#[test]
fn connections_over_tls_are_counted_per_address_and_pages_served_there_may_call_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("the shop's CA");
    let files = install(dir.path(), &ca.issue_now(&[HOST]));
    let mut settings = settings_for(dir.path(), files);
    settings.max_connections_per_address = 2;
    // CORS on (for another site), so that stampd's own origin is checked too.
    settings.cors_allowed_origins = vec!["https://partner.example".into()];
    let (app, ()) = HttpsApp::start(settings, |_, _| ());

    // Three TCP connections to the HTTPS port from one address: one is closed at once,
    // before any TLS. (Told apart within 2.5 s: the others are closed too once their 3 s
    // for a handshake are over.)
    let started = Instant::now();
    let three: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", app.https_port)).unwrap())
        .collect();
    let mut closed = 0;
    while closed == 0 && started.elapsed() < Duration::from_millis(2500) {
        closed = three.iter().filter(|c| is_closed(c)).count();
    }
    assert_eq!(closed, 1, "one connection past the cap");
    drop(three);

    // A page served over HTTPS here is stampd's own: its origin is https://<host>.
    // (Once the server has seen the three go: until then, this address is at its cap.)
    let origin = format!("https://{HOST}:{}", app.https_port);
    let ask = || {
        https_get_with(
            app.https_port,
            HOST,
            "/api/v1/status",
            &[ca.root()],
            &[("Origin", &origin)],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        match ask() {
            Ok(r) => break r,
            Err(e) => assert!(Instant::now() < deadline, "{e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(origin.as_str())
    );
}

/// Whether the server has closed `conn` (looked at for 50 ms).
fn is_closed(mut conn: &TcpStream) -> bool {
    conn.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    match conn.read(&mut [0u8; 16]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn a_key_that_is_not_the_certificates_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("a CA");
    let (cert, _) = ca.issue_now(&[HOST]);
    let (_, other_key) = ca.issue_now(&[HOST]);
    let files = install(dir.path(), &(cert, other_key));
    let err = start_error(settings_for(dir.path(), files));
    assert!(
        err.contains("the private key does not belong to the certificate"),
        "{err}"
    );
    std::fs::write(dir.path().join("cert.pem"), "nothing").unwrap();
    let err = start_error(settings_for(
        dir.path(),
        (dir.path().join("cert.pem"), dir.path().join("key.pem")),
    ));
    assert!(err.contains("holds no certificate"), "{err}");
}

/// `text` padded with newlines to `len` bytes (PEM ignores what follows its blocks).
fn padded(text: &str, len: usize) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    assert!(bytes.len() <= len, "{} bytes", bytes.len());
    bytes.resize(len, b'\n');
    bytes
}

/// Writes `bytes` over `path` in place (same file, same size) and puts its
/// modification time back: a change only a SIGHUP makes stampd look at.
fn overwrite_unnoticed(path: &Path, bytes: &[u8]) {
    let before = std::fs::metadata(path).unwrap();
    assert_eq!(before.len(), bytes.len() as u64);
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.rewind().unwrap();
    file.write_all(bytes).unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
}

#[test]
fn sighup_reads_the_certificate_files_again_and_stops_nothing() {
    let first = TestCa::new("the shop's first CA");
    let second = TestCa::new("the shop's next CA");
    let (c1, k1) = first.issue_now(&[HOST]);
    let (c2, k2) = second.issue_now(&[HOST]);
    let env = Env::new(&[
        ("tls_certificate", "\"cert.pem\""),
        ("tls_private_key", "\"key.pem\""),
    ]);
    let cert = env.dir.path().join("cert.pem");
    let key = env.dir.path().join("key.pem");
    std::fs::write(&cert, padded(&c1, 4096)).unwrap();
    std::fs::write(&key, padded(&k1, 1024)).unwrap();
    let https = free_port();
    let log = env.dir.path().join("serve.log");
    let mut child = env
        .command(&[
            "serve",
            "--bind",
            &format!("127.0.0.1:{}", free_port()),
            "--https-bind",
            &format!("127.0.0.1:{https}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("stampd serve");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !https_get(https, HOST, "/api/v1/status", &[first.root()]).is_ok_and(|r| r.status == 200)
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "stampd stopped: {}",
            log_text()
        );
        assert!(Instant::now() < deadline, "no HTTPS: {}", log_text());
        std::thread::sleep(Duration::from_millis(50));
    }

    overwrite_unnoticed(&key, &padded(&k2, 1024));
    overwrite_unnoticed(&cert, &padded(&c2, 4096));
    std::thread::sleep(stampd::tls::own_files::LOOK_EVERY * 2);
    assert!(
        served_certificate(https, HOST, &[first.root()]).is_ok(),
        "unchanged by the file watch alone"
    );
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for(https, &second.root());
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    assert!(
        log_text().contains("SIGHUP: now serving the certificate"),
        "{}",
        log_text()
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sighup_does_not_stop_a_server_without_https() {
    let env = Env::new(&[]);
    let server = crate::support::binary::Server::start(&env);
    let hup = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("SIGHUP") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = fetch("GET", &server.url("/api/v1/status"), &[], None);
    assert_eq!(r.status, 200, "still serving after SIGHUP");
}
