//! Let's Encrypt's test CA, `pebble` (Debian's package, which also ships
//! `pebble-challtestsrv`), run for one test on free loopback ports: the challenge test
//! server answers every DNS question with 127.0.0.1, so pebble's validation of a test
//! domain reaches the stampd under test, on the ports the test points it at — a real
//! challenge, answered by stampd.
//!
//! Where pebble is not installed the tests say so and skip, except under CI
//! (`CI=true`, as `.ci/run` runs), where they fail: there it must be installed.

use std::fs::File;
use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::tls::{trusting, TestCa};

pub const PEBBLE: &str = "/usr/bin/pebble";
pub const CHALLTESTSRV: &str = "/usr/bin/pebble-challtestsrv";

/// Whether pebble is here; otherwise says why and gives `false`, or fails under CI.
pub fn pebble_available(test: &str) -> bool {
    let missing: Vec<&str> = [PEBBLE, CHALLTESTSRV]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} not installed (apt-get install pebble)",
        missing.join(" and ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but {why}");
    }
    // Straight to stderr, past the test harness's capture, so that the skip shows.
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
    false
}

/// A port free for TCP (and, when `udp`, for UDP too) on 127.0.0.1 right now.
fn free_port(udp: bool) -> u16 {
    // Below the kernel's ephemeral range (32768 and up), where outgoing connections of
    // other tests running meanwhile cannot take the port before pebble binds it.
    loop {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        let Ok(_tcp) = TcpListener::bind(("127.0.0.1", port)) else {
            continue;
        };
        if !udp || UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A pebble whose ports are chosen and whose own HTTPS certificate is made, not yet
/// running: stampd is given its directory before it binds, pebble is told stampd's
/// ports after.
pub struct PebbleSetup {
    dir: tempfile::TempDir,
    acme_port: u16,
    management_port: u16,
    dns_port: u16,
    dns_management_port: u16,
    /// The CA of pebble's own HTTPS certificate (its directory and management API).
    pub ca_certificate: PathBuf,
    ca: TestCa,
}

/// A running pebble and its DNS; both are stopped on drop.
pub struct Pebble {
    setup: PebbleSetup,
    children: Vec<Child>,
}

impl PebbleSetup {
    pub fn new() -> PebbleSetup {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new("pebble test HTTPS CA");
        let ca_certificate = ca.write(&dir.path().join("pebble-https-ca.pem"));
        let (cert, key) = ca.issue_now(&["localhost", "127.0.0.1"]);
        std::fs::write(dir.path().join("pebble-https.pem"), cert).expect("write");
        std::fs::write(dir.path().join("pebble-https.key"), key).expect("write");
        PebbleSetup {
            dir,
            acme_port: free_port(false),
            management_port: free_port(false),
            dns_port: free_port(true),
            dns_management_port: free_port(false),
            ca_certificate,
            ca,
        }
    }

    /// The ACME directory URL.
    pub fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// The folder stampd keeps this CA's account and certificates in, beside the
    /// database in `data_dir` (as `tls::acme` names it: the directory's host and port).
    pub fn stampd_folder(&self, data_dir: &Path) -> PathBuf {
        data_dir
            .join("acme")
            .join(format!("127.0.0.1_{}", self.acme_port))
    }

    /// Starts the DNS stand-in and pebble, validating HTTP-01 on `http_port` and
    /// TLS-ALPN-01 on `tls_port` of 127.0.0.1, and waits until both answer.
    pub fn start(self, http_port: u16, tls_port: u16) -> Pebble {
        let d = self.dir.path().to_path_buf();
        let d = d.as_path();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{}", self.acme_port),
                "managementListenAddress": format!("127.0.0.1:{}", self.management_port),
                "certificate": d.join("pebble-https.pem"),
                "privateKey": d.join("pebble-https.key"),
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        std::fs::write(d.join("pebble.json"), config.to_string()).expect("write config");
        let log = |name: &str| File::create(d.join(name)).expect("log file");
        let dns = Command::new(CHALLTESTSRV)
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{}", self.dns_port)])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args([
                "-management",
                &format!("127.0.0.1:{}", self.dns_management_port),
            ])
            .stdin(Stdio::null())
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err"))
            .spawn()
            .expect("start pebble-challtestsrv");
        let mut pebble = Pebble {
            children: vec![dns],
            setup: self,
        };
        let s = &pebble.setup;
        let ca = Command::new(PEBBLE)
            .arg("-config")
            .arg(d.join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{}", s.dns_port)])
            // Validations at once, not after pebble's random pause of up to 15 s.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .expect("start pebble");
        pebble.children.push(ca);
        for port in [s.dns_management_port, s.acme_port, s.management_port] {
            pebble.wait_listening(port);
        }
        pebble
    }
}

impl Pebble {
    pub fn setup(&self) -> &PebbleSetup {
        &self.setup
    }

    fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            for child in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("pebble stopped ({status}): {}", self.logs());
                }
            }
            assert!(
                Instant::now() < deadline,
                "pebble did not listen on {port}: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What pebble and its DNS logged, for a failing test's message.
    pub fn logs(&self) -> String {
        let d = self.setup.dir.path();
        [
            "pebble.log",
            "pebble.err",
            "challtestsrv.log",
            "challtestsrv.err",
        ]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(d.join(f)).unwrap_or_default();
            format!("--- {f}\n{text}")
        })
        .collect()
    }

    /// The root of the certificates pebble issues (made anew at each start).
    pub fn issuing_root(&self) -> CertificateDer<'static> {
        let agent = ureq::AgentBuilder::new()
            .tls_config(trusting(&[self.setup.ca.root()]))
            .timeout(Duration::from_secs(20))
            .build();
        let url = format!("https://127.0.0.1:{}/roots/0", self.setup.management_port);
        let pem = agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("{url}: {e}: {}", self.logs()))
            .into_string()
            .expect("root PEM");
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM root")
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
