//! HTTPS in tests: certificate authorities made on the spot (rcgen), an in-process
//! stampd serving HTTPS on 127.0.0.1 (with a hook between binding its ports and
//! serving, for a test CA that must know them), and clients that trust only the roots
//! a test gives them and reach a domain name at 127.0.0.1.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use actix_web::dev::ServerHandle;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use stampd::app::Application;
use stampd::config::Settings;

use super::app::Resp;

/// A certificate authority of a test's own.
pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub fn root(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.pem.as_bytes()).expect("CA PEM")
    }

    /// A certificate for `names` (DNS names or IP addresses) valid from `from` to
    /// `until`: (certificate PEM, private key PEM).
    pub fn issue(&self, names: &[&str], from: SystemTime, until: SystemTime) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.not_before = from.into();
        params.not_after = until.into();
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// A certificate for `names` valid from an hour ago for a year.
    pub fn issue_now(&self, names: &[&str]) -> (String, String) {
        let now = SystemTime::now();
        self.issue(
            names,
            now - Duration::from_secs(3600),
            now + Duration::from_secs(365 * 86400),
        )
    }

    /// Writes the CA certificate to `path`.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, &self.pem).expect("write CA");
        path.to_path_buf()
    }
}

/// An in-process stampd with HTTPS on: its HTTPS and plain HTTP ports on 127.0.0.1.
pub struct HttpsApp {
    pub https_port: u16,
    pub http_port: u16,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

impl HttpsApp {
    /// Builds the server (which binds its ports), calls `before_serving` with the HTTPS
    /// and plain ports, then lets it serve.
    pub fn start<T>(
        settings: Settings,
        before_serving: impl FnOnce(u16, u16) -> T,
    ) -> (HttpsApp, T) {
        let (tx, rx) = mpsc::channel();
        let (go, wait) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings).expect("server starts");
                let plain = app.redirect_addr().expect("HTTPS is on").port();
                tx.send((app.port(), plain, app.handle()))
                    .expect("test is waiting");
                if wait.recv().is_ok() {
                    app.run_until_stopped().await.expect("server runs");
                }
            })
        });
        let (https_port, http_port, handle) = rx.recv().expect("server built");
        let out = before_serving(https_port, http_port);
        go.send(()).expect("server waits");
        let app = HttpsApp {
            https_port,
            http_port,
            handle: Some(handle),
            thread: Some(thread),
        };
        (app, out)
    }

    /// `GET https://<host><path>` at this server, trusting only `roots`.
    pub fn get(
        &self,
        host: &str,
        path: &str,
        roots: &[CertificateDer<'static>],
    ) -> Result<Resp, String> {
        https_get(self.https_port, host, path, roots)
    }

    /// Waits (up to `within`) until `GET /api/v1/status` over HTTPS, trusting only
    /// `roots`, answers 200.
    pub fn wait_trusted(
        &self,
        host: &str,
        roots: &[CertificateDer<'static>],
        within: Duration,
    ) -> Resp {
        let deadline = Instant::now() + within;
        loop {
            let last = self.get(host, "/api/v1/status", roots);
            if let Ok(r) = &last {
                if r.status == 200 {
                    return r.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no HTTPS answer trusted by the given roots within {within:?}: {last:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for HttpsApp {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(true));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TLS client configuration trusting only `roots`.
pub fn trusting(roots: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).expect("a root certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// `GET https://<host>:<port><path>` with `host` reached at 127.0.0.1, trusting only
/// `roots`; `Err` when the connection or the handshake fails.
pub fn https_get(
    port: u16,
    host: &str,
    path: &str,
    roots: &[CertificateDer<'static>],
) -> Result<Resp, String> {
    https_get_with(port, host, path, roots, &[])
}

/// As `https_get`, with extra request headers.
pub fn https_get_with(
    port: u16,
    host: &str,
    path: &str,
    roots: &[CertificateDer<'static>],
    headers: &[(&str, &str)],
) -> Result<Resp, String> {
    let agent = ureq::AgentBuilder::new()
        .tls_config(trusting(roots))
        .resolver(move |_: &str| Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]))
        .redirects(0)
        .timeout(Duration::from_secs(20))
        .build();
    let mut req = agent.get(&format!("https://{host}:{port}{path}"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => Resp::read(r),
        Err(e) => Err(e.to_string()),
    }
}

/// The end-entity certificate the server at 127.0.0.1:`port` presents for `host`,
/// when it is trusted by `roots`.
pub fn served_certificate(
    port: u16,
    host: &str,
    roots: &[CertificateDer<'static>],
) -> Result<CertificateDer<'static>, String> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(trusting(roots), name).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.clone().into_owned())
        .ok_or("no certificate")?;
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let _ = sock.flush();
    Ok(leaf)
}
