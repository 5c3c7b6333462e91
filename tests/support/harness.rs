#![allow(dead_code)] // shared by tests/openapi.rs and tests/hostile.rs; each uses part of it
//! A tiny test harness for the contract tests (after tests/api/helpers.rs): a real
//! stampd on 127.0.0.1:0 with a fresh SQLite file and a store with a token, an HTTP
//! client with timeouts, and a raw TCP client for requests no HTTP library would send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use serde_json::Value;
use stampd::app::Application;
use stampd::config::Settings;

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

/// A fresh server (settings changed by `tweak`) with one store and a token for it.
pub fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("stampd.db");
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        database: db.clone(),
        workers: 2,
        ..Settings::default()
    };
    tweak(&mut settings);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).expect("server starts");
            tx.send((app.port(), app.handle())).expect("test waits");
            app.run_until_stopped().await.expect("server runs");
        })
    });
    let (port, handle) = rx.recv().expect("server started");
    let mut conn = stampd::db::open_connection(
        &db,
        &Settings {
            database: db.clone(),
            ..Settings::default()
        },
    )
    .expect("open db");
    let store_id = stampd::db::stores::insert(&conn, "Test Store").expect("store");
    let token = stampd::cli::create_token(&mut conn, &[store_id], Some("test")).expect("token");
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        dir,
        token,
        store_id,
        handle: Some(handle),
        thread: Some(thread),
    }
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
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

impl TestApp {
    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("stampd.db")
    }

    /// `/api/v1/accounts/<store><rest>`
    pub fn store_path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{}", self.store_id, rest)
    }

    /// Any request through an HTTP client (30 s timeout): method, path, bearer token,
    /// content type, raw body, extra headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
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
            Some(b) => req.send_bytes(b),
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

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Some(&self.token), None, None, &[])
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.send(
            "POST",
            path,
            Some(&self.token),
            Some("application/json"),
            Some(body.to_string().as_bytes()),
            &[],
        )
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

/// Parses one HTTP/1.1 response; `None` while incomplete (unless `eof`).
fn parse_response(buf: &[u8], eof: bool) -> Option<Resp> {
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
    let text = String::from_utf8_lossy(&body).to_string();
    Some(Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        headers,
    })
}
