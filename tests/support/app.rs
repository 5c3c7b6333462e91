//! The in-process harness: a real stampd on 127.0.0.1:0 with a fresh SQLite file in a
//! temporary folder, a store and a token for it, settings a test may change, HTTP
//! request helpers, and a raw TCP client for requests no HTTP library would send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use serde_json::{json, Value};
use stampd::app::Application;
use stampd::config::Settings;

/// No request of a test waits longer than this for its answer (a hang is a failure).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server and a store with a token that may reach it.
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub token: String,
    pub store_id: i64,
    /// What the server runs with; `restart` starts it again with them.
    pub settings: Settings,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

/// An HTTP response, whatever its status.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The body as text (invalid UTF-8 replaced).
    pub text: String,
    pub bytes: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; fails the test when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn new(status: u16, headers: Vec<(String, String)>, bytes: Vec<u8>) -> Resp {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
            bytes,
            headers,
        }
    }

    fn from_ureq(method: &str, url: &str, result: Result<ureq::Response, ureq::Error>) -> Resp {
        match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Resp::read(r),
            Err(e) => Err(e.to_string()),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    /// Reads a whole answer; `Err` when the connection fails before its end.
    pub fn read(resp: ureq::Response) -> Result<Resp, String> {
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = resp.header(&n).unwrap_or_default().to_string();
                (n, v)
            })
            .collect();
        let mut bytes = Vec::new();
        resp.into_reader()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading the body: {e}"))?;
        Ok(Resp::new(status, headers, bytes))
    }
}

/// The settings every test server starts from: a free port, the given database file,
/// and wallet updates that never leave the machine (port 9 refuses them at once; the
/// tests of wallet updates start stand-ins of APNs and Google).
pub fn test_settings(db: &Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database: db.to_path_buf(),
        workers: 2,
        apns_base_url: Some("https://127.0.0.1:9".into()),
        google_token_url: "http://127.0.0.1:9/token".into(),
        google_api_url: "http://127.0.0.1:9/walletobjects/v1".into(),
        ..Settings::default()
    }
}

/// A fresh server with one store ("Test Store") and a token for it.
pub fn spawn_app() -> TestApp {
    TestApp::start("Test Store", |_, _| {})
}

/// A fresh server whose settings `tweak` may change.
pub fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    TestApp::start("Test Store", |s, _| tweak(s))
}

/// A fresh server whose settings `tweak` may change; it also gets the server's folder
/// (for files the settings name, such as certificates).
pub fn spawn_app_in(tweak: impl FnOnce(&mut Settings, &Path)) -> TestApp {
    TestApp::start("Test Store", tweak)
}

/// The error `Application::build` stops with for these settings.
pub fn start_error(settings: Settings) -> String {
    actix_web::rt::System::new().block_on(async move {
        match Application::build(settings) {
            Ok(_) => panic!("the server started"),
            Err(e) => e.to_string(),
        }
    })
}

/// Any request to a full URL (a link the API handed out), redirects not followed.
pub fn fetch(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(REQUEST_TIMEOUT)
        .build();
    let mut req = agent.request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    Resp::from_ureq(method, url, result)
}

fn serve(settings: Settings) -> (u16, ServerHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).expect("server starts");
            tx.send((app.port(), app.handle()))
                .expect("test is waiting");
            app.run_until_stopped().await.expect("server runs");
        })
    });
    let (port, handle) = rx.recv().expect("server started");
    (port, handle, thread)
}

impl TestApp {
    /// A fresh server (settings changed by `tweak`, which also gets the server's
    /// folder) with a store named `store` and a token for it.
    pub fn start(store: &str, tweak: impl FnOnce(&mut Settings, &Path)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(&dir.path().join("stampd.db"));
        tweak(&mut settings, dir.path());
        let (port, handle, thread) = serve(settings.clone());
        let mut app = TestApp {
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            token: String::new(),
            store_id: 0,
            settings,
            handle: Some(handle),
            thread: Some(thread),
        };
        let (store_id, token) = app.new_store(store);
        app.store_id = store_id;
        app.token = token;
        app
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("stampd.db")
    }

    /// A direct connection to the database file (as the command line would open it).
    pub fn conn(&self) -> rusqlite::Connection {
        let settings = test_settings(&self.db_path());
        stampd::db::open_connection(&self.db_path(), &settings).expect("open db")
    }

    /// Runs `f` in one IMMEDIATE transaction on a direct connection (waiting up to 10 s
    /// for the server's writer) and commits it.
    pub fn write_tx<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> T) -> T {
        let mut conn = self.conn();
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        let out = f(&tx);
        tx.commit().expect("commit");
        out
    }

    /// Creates another store and a token for it only.
    pub fn new_store(&self, name: &str) -> (i64, String) {
        let mut conn = self.conn();
        let id = stampd::db::stores::insert(&conn, name).expect("store");
        let token = stampd::cli::create_token(&mut conn, &[id], Some("test")).expect("token");
        (id, token)
    }

    /// A token for several stores.
    pub fn token_for(&self, stores: &[i64]) -> String {
        let mut conn = self.conn();
        stampd::cli::create_token(&mut conn, stores, Some("test")).expect("token")
    }

    /// Stops the server cleanly (in-flight requests finish, WAL checkpointed).
    pub fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(true));
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
    }

    /// Stops the server and starts a new one on the same database file, with the same
    /// settings.
    pub fn restart(&mut self) {
        self.restart_with(|_| {});
    }

    /// Stops the server and starts a new one on the same database file, with its
    /// settings changed by `tweak`.
    pub fn restart_with(&mut self, tweak: impl FnOnce(&mut Settings)) {
        self.stop();
        tweak(&mut self.settings);
        let (port, handle, thread) = serve(self.settings.clone());
        self.port = port;
        self.base = format!("http://127.0.0.1:{port}");
        self.handle = Some(handle);
        self.thread = Some(thread);
    }

    /// Path under the test store: `self.store_path("/customers")`.
    pub fn store_path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{}", self.store_id, rest)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, Some(&self.token), None, None)
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.request("DELETE", path, Some(&self.token), None, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.json_request("POST", path, body)
    }

    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.json_request("PATCH", path, body)
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.json_request("PUT", path, body)
    }

    fn json_request(&self, method: &str, path: &str, body: &Value) -> Resp {
        let body = body.to_string();
        let ct = Some("application/json");
        self.request(method, path, Some(&self.token), ct, Some(&body))
    }

    pub fn post_form(&self, path: &str, form: &str) -> Resp {
        let ct = Some("application/x-www-form-urlencoded");
        self.request("POST", path, Some(&self.token), ct, Some(form))
    }

    /// A GET without a token, as a browser asks for a page or an asset.
    pub fn get_page(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", path, None, None, None, headers)
    }

    /// GET with the store's token that must answer 200: the JSON.
    pub fn get_ok(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        r.body
    }

    /// POST with the store's token that must answer 200 or 201: the JSON.
    pub fn post_ok(&self, path: &str, body: Value) -> Value {
        let r = self.post(path, &body);
        assert!(
            r.status == 200 || r.status == 201,
            "POST {path}: {} {}",
            r.status,
            r.text
        );
        r.body
    }

    /// Any request: method, path, bearer token, content type, raw body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Resp {
        self.request_with_headers(method, path, token, content_type, body, &[])
    }

    pub fn request_with_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let body = body.map(str::as_bytes);
        self.send(method, path, token, content_type, body, headers)
    }

    /// Any request with a body of bytes: method, path, bearer token, content type, raw
    /// body, extra headers. Redirects are followed.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let agent = ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build();
        let url = format!("{}{}", self.base, path);
        let mut req = agent.request(method, &url);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.set("Content-Type", ct);
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        Resp::from_ureq(method, path, result)
    }

    /// Creates a card template; returns its JSON.
    pub fn create_card(&self, attrs: Value) -> Value {
        let r = self.post(&self.store_path("/cards"), &json!({ "card": attrs }));
        assert_eq!(r.status, 201, "create card: {}", r.text);
        r.body
    }

    /// Creates a customer from a full request body; returns the 201 JSON.
    pub fn create_customer(&self, body: Value) -> Value {
        let r = self.post(&self.store_path("/customers"), &body);
        assert_eq!(r.status, 201, "create customer: {}", r.text);
        r.body
    }

    /// Creates a reward of a card; returns its JSON.
    pub fn create_reward(&self, card_id: i64, name: &str, stamps: i64) -> Value {
        self.post_ok(
            &self.store_path("/rewards"),
            json!({"reward": {"card_id": card_id, "name": name, "stamps_required": stamps}}),
        )
    }

    /// Creates a customer enrolled in `card_id`; returns the 201 JSON.
    pub fn enrol(&self, first: &str, last: &str, email: &str, card_id: i64) -> Value {
        self.post_ok(
            &self.store_path("/customers"),
            json!({
                "customer": {"first_name": first, "last_name": last, "email": email},
                "card_id": card_id
            }),
        )
    }

    /// A customer card as the API shows it.
    pub fn customer_card(&self, customer_id: i64, cc_id: i64) -> Value {
        self.get_ok(&self.store_path(&format!("/customers/{customer_id}/customer_cards/{cc_id}")))
    }

    /// The ledger of a customer card, newest first.
    pub fn events(&self, customer_id: i64, cc_id: i64) -> Vec<Value> {
        let v = self.get_ok(&self.store_path(&format!(
            "/customers/{customer_id}/customer_cards/{cc_id}/events?items=100"
        )));
        v["events"].as_array().cloned().unwrap_or_default()
    }

    /// Sends raw bytes over a fresh TCP connection and reads the answer (the server is
    /// asked to close the connection after it). Writing happens on its own thread, so
    /// an early answer (413) is read even while the rest of the request is still going
    /// out. Panics when no complete answer arrives within `timeout`.
    pub fn raw(&self, request: &[u8], timeout: Duration) -> Resp {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(timeout)).expect("timeout");
        let mut writer = stream.try_clone().expect("clone stream");
        writer.set_write_timeout(Some(timeout)).expect("timeout");
        let request = request.to_vec();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(&request);
        });
        let deadline = Instant::now() + timeout;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(resp) = parse_response(&buf, false) {
                let _ = sender.join();
                return resp;
            }
            assert!(
                Instant::now() < deadline,
                "no complete answer within {timeout:?}; got {:?}",
                String::from_utf8_lossy(&buf)
            );
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!(
                        "no answer within {timeout:?}; got {:?}",
                        String::from_utf8_lossy(&buf)
                    )
                }
                Err(_) => break, // reset after the answer
            }
        }
        let _ = sender.join();
        parse_response(&buf, true).unwrap_or_else(|| {
            panic!(
                "connection closed without a complete answer: {:?}",
                String::from_utf8_lossy(&buf)
            )
        })
    }

    /// A raw request: `METHOD path HTTP/1.1` with Host, the token, `Connection: close`,
    /// the given header lines, and the body with a Content-Length.
    pub fn raw_request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            self.token,
            body.len()
        );
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        out
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(true));
        }
        if let Some(t) = self.thread.take() {
            // Not `expect`: a panic while a failed test unwinds would hide its message.
            let _ = t.join();
        }
    }
}

/// Parses one HTTP/1.1 response; `None` while incomplete (unless `eof`).
pub fn parse_response(buf: &[u8], eof: bool) -> Option<Resp> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let rest = &buf[end + 4..];
    let body: Vec<u8> = if let Some(len) =
        find("content-length").and_then(|v| v.parse::<usize>().ok())
    {
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let line_end = at + rest[at..].windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[at..line_end]).ok()?.trim(), 16)
                    .ok()?;
            at = line_end + 2;
            if size == 0 {
                break;
            }
            if rest.len() < at + size + 2 {
                return None;
            }
            out.extend_from_slice(&rest[at..at + size]);
            at += size + 2;
        }
        out
    } else if eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Resp::new(status, headers, body))
}
