#![allow(dead_code)] // shared by many test modules; not each uses every helper
//! Test harness: a real stampd server on 127.0.0.1:0 with a fresh SQLite file in a
//! temporary folder, and a small HTTP client for it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use serde_json::Value;
use stampd::app::Application;
use stampd::config::Settings;

/// A running server and a store with a token that may reach it.
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub token: String,
    pub store_id: i64,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

/// An HTTP response, whatever its status.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn test_settings(db: &Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database: db.to_path_buf(),
        workers: 2,
        ..Settings::default()
    }
}

/// A fresh server with one store ("Test Store") and a token for it.
pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

/// A fresh server whose settings `tweak` may change.
pub fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&dir.path().join("stampd.db"));
    tweak(&mut settings);
    let (port, handle, thread) = start(settings.clone());
    let mut app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        dir,
        token: String::new(),
        store_id: 0,
        handle: Some(handle),
        thread: Some(thread),
    };
    let (store_id, token) = app.new_store("Test Store");
    app.store_id = store_id;
    app.token = token;
    app
}

fn start(settings: Settings) -> (u16, ServerHandle, JoinHandle<()>) {
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
        conn.busy_timeout(std::time::Duration::from_secs(10))
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

    /// Stops the server and starts a new one on the same database file.
    pub fn restart(&mut self) {
        self.stop();
        let (port, handle, thread) = start(test_settings(&self.db_path()));
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
        self.request(
            "POST",
            path,
            Some(&self.token),
            Some("application/json"),
            Some(&body.to_string()),
        )
    }

    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.request(
            "PATCH",
            path,
            Some(&self.token),
            Some("application/json"),
            Some(&body.to_string()),
        )
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.request(
            "PUT",
            path,
            Some(&self.token),
            Some("application/json"),
            Some(&body.to_string()),
        )
    }

    pub fn post_form(&self, path: &str, form: &str) -> Resp {
        self.request(
            "POST",
            path,
            Some(&self.token),
            Some("application/x-www-form-urlencoded"),
            Some(form),
        )
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
        let agent = ureq::AgentBuilder::new().build();
        let mut req = agent.request(method, &format!("{}{}", self.base, path));
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
            Some(b) => req.send_string(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = resp.header(&n).unwrap_or_default().to_string();
                (n, v)
            })
            .collect();
        let text = resp.into_string().expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    /// Creates a card template; returns its JSON.
    pub fn create_card(&self, attrs: Value) -> Value {
        let r = self.post(
            &self.store_path("/cards"),
            &serde_json::json!({ "card": attrs }),
        );
        assert_eq!(r.status, 201, "create card: {}", r.text);
        r.body
    }

    /// Creates a customer from a full request body; returns the 201 JSON.
    pub fn create_customer(&self, body: Value) -> Value {
        let r = self.post(&self.store_path("/customers"), &body);
        assert_eq!(r.status, 201, "create customer: {}", r.text);
        r.body
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}
