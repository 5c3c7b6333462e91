//! A real stampd on 127.0.0.1:0 with a fresh SQLite file, a store and a token, and a
//! small JSON client to check through the API what the page did.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use serde_json::{json, Value};
use stampd::app::Application;
use stampd::config::Settings;

pub struct TestApp {
    pub base: String,
    pub token: String,
    pub store_id: i64,
    dir: tempfile::TempDir,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

fn settings(db: &Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database: db.to_path_buf(),
        workers: 2,
        ..Settings::default()
    }
}

pub fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = settings(&dir.path().join("stampd.db"));
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
    let mut app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        token: String::new(),
        store_id: 0,
        dir,
        handle: Some(handle),
        thread: Some(thread),
    };
    let (store_id, token) = app.new_store("Corner Coffee");
    app.store_id = store_id;
    app.token = token;
    app
}

impl TestApp {
    fn db_path(&self) -> PathBuf {
        self.dir.path().join("stampd.db")
    }

    fn conn(&self) -> rusqlite::Connection {
        stampd::db::open_connection(&self.db_path(), &settings(&self.db_path())).expect("open db")
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

    /// `/api/v1/accounts/<store><rest>`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{rest}", self.store_id)
    }

    /// Any request with the store's token: status and JSON body (`Null` when empty).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let req = ureq::request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token));
        let result = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.request("POST", path, Some(&body));
        assert!(
            status == 200 || status == 201,
            "POST {path}: {status} {answer}"
        );
        answer
    }

    pub fn create_card(&self, attrs: Value) -> Value {
        self.post(&self.path("/cards"), json!({ "card": attrs }))
    }

    pub fn create_reward(&self, card_id: i64, name: &str, stamps: i64) -> Value {
        self.post(
            &self.path("/rewards"),
            json!({"reward": {"card_id": card_id, "name": name, "stamps_required": stamps}}),
        )
    }

    /// Creates a customer enrolled in `card_id`; returns the 201 JSON.
    pub fn enrol(&self, first: &str, last: &str, email: &str, card_id: i64) -> Value {
        self.post(
            &self.path("/customers"),
            json!({
                "customer": {"first_name": first, "last_name": last, "email": email},
                "card_id": card_id
            }),
        )
    }

    /// A customer card as the API shows it.
    pub fn customer_card(&self, customer_id: i64, cc_id: i64) -> Value {
        self.get(&self.path(&format!("/customers/{customer_id}/customer_cards/{cc_id}")))
    }

    /// The ledger of a customer card, newest first.
    pub fn events(&self, customer_id: i64, cc_id: i64) -> Vec<Value> {
        let v = self.get(&self.path(&format!(
            "/customers/{customer_id}/customer_cards/{cc_id}/events?items=100"
        )));
        v["events"].as_array().cloned().unwrap_or_default()
    }

    /// A plain GET without a token: status, headers and body bytes.
    pub fn raw_get(&self, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        let mut req = ureq::get(&format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("GET {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = resp.header(&n).unwrap_or_default().to_string();
                (n.to_ascii_lowercase(), v)
            })
            .collect();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).expect("body");
        RawResponse {
            status,
            headers,
            body,
        }
    }
}

pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(true));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
