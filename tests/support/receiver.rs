//! A webhook receiver for tests: an HTTPS (or plain HTTP) server on 127.0.0.1 with a
//! certificate of a test CA, keeping every request it gets and answering each with the
//! next status of its plan (200 once the plan is used up), optionally after a delay.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::tls::TestCa;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    arrived: Condvar,
    plan: Mutex<VecDeque<u16>>,
    delay: Mutex<Duration>,
    stop: AtomicBool,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    /// An HTTPS receiver with a certificate for `names` from `ca`.
    pub fn https(ca: &TestCa, names: &[&str]) -> Receiver {
        let (cert, key) = ca.issue_now(names);
        let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        Receiver::start(Some(Arc::new(config)))
    }

    /// A plain HTTP receiver.
    pub fn http() -> Receiver {
        Receiver::start(None)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, tls) = (s.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                    match tls {
                        Some(config) => {
                            let Ok(server) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(&s, rustls::StreamOwned::new(server, conn));
                        }
                        None => serve(&s, conn),
                    }
                });
            }
        });
        Receiver { port, shared }
    }

    /// `https://<host>:<port><path>`.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    /// The next answers, in order (200 after them).
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.plan.lock().unwrap().extend(statuses);
    }

    /// Waits this long before answering each request.
    pub fn delay(&self, d: Duration) {
        *self.shared.delay.lock().unwrap() = d;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `n` requests came (or `within` passed); all that came.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        let mut got = self.shared.received.lock().unwrap();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            got = self.shared.arrived.wait_timeout(got, left).unwrap().0;
        }
        got.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves requests on one connection until it closes.
fn serve(s: &Shared, stream: impl Read + Write) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let delay = *s.delay.lock().unwrap();
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let status = s.plan.lock().unwrap().pop_front().unwrap_or(200);
        {
            let mut got = s.received.lock().unwrap();
            got.push(Received {
                path,
                headers,
                body,
                at: Instant::now(),
            });
            s.arrived.notify_all();
        }
        let extra = if (300..400).contains(&status) {
            "Location: https://example.com/\r\n"
        } else {
            ""
        };
        let reply = format!(
            "HTTP/1.1 {status} Status\r\n{extra}Content-Type: text/plain\r\nContent-Length: 7\r\n\r\nhandled"
        );
        let w = reader.get_mut();
        if w.write_all(reply.as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            return;
        }
    }
}
