//! The binary harness: the real `stampd` executable run as a child process on a
//! temporary folder with its own config file — commands run to completion, a server
//! waited for until it answers, stopped with SIGTERM or killed with SIGKILL and started
//! again, its stdout captured and its stderr logged to a file — and a small HTTP
//! client for it.
//!
//! Every command runs with `--config` and `--db` in the temporary folder and without
//! any `STAMPD_*` or `RUST_LOG` variable from the outside, so neither the repository's
//! `config.toml` nor the caller's environment is used.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use super::app::Resp;

pub const BIN: &str = env!("CARGO_BIN_EXE_stampd");

/// The settings every test starts from: durable commits, no rate limit, no automatic
/// backups. `settings` replaces or adds settings (values are TOML literals).
fn config_text(settings: &[(&str, &str)]) -> String {
    let mut all: BTreeMap<&str, String> = BTreeMap::new();
    all.insert("log_level", "\"info\"".into());
    all.insert("synchronous", "\"full\"".into());
    all.insert("rate_limit_per_minute", "0".into());
    all.insert("backup_interval_hours", "0".into());
    all.insert("workers", "2".into());
    for (k, v) in settings {
        all.insert(k, v.to_string());
    }
    all.into_iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect()
}

/// A temporary folder with a config file and a database path in it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db: PathBuf,
}

impl Env {
    /// The starting settings changed by `settings` (values are TOML literals).
    pub fn new(settings: &[(&str, &str)]) -> Env {
        Self::with_config(&config_text(settings))
    }

    /// A config file of exactly `text`.
    pub fn with_config(text: &str) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("test-config.toml");
        std::fs::write(&config, text).expect("write config");
        let db = dir.path().join("x.db");
        Env { dir, config, db }
    }

    /// `stampd --config .. --db .. <args>`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG");
        for (k, _) in std::env::vars() {
            if k.starts_with("STAMPD_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// Runs a command to its end, with extra environment variables.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).output().expect("run stampd")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "stampd {args:?} failed ({:?}): {}",
            out.status,
            stderr(&out)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// `stampd store create`: the new store's id.
    pub fn create_store(&self, name: &str) -> i64 {
        let out = self.ok(&["store", "create", "--name", name]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("store create printed {out:?}"))
    }

    /// `stampd token create` for these stores: the token, which must be all it prints.
    pub fn create_token(&self, stores: &[i64], label: &str) -> String {
        let mut args = vec!["token".to_string(), "create".to_string()];
        for s in stores {
            args.push("--account".into());
            args.push(s.to_string());
        }
        args.push("--name".into());
        args.push(label.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.ok(&args);
        let token = out.trim().to_string();
        assert_eq!(
            out,
            format!("{token}\n"),
            "token create prints the token alone"
        );
        token
    }

    /// The database path with a suffix: `sibling("-wal")`.
    pub fn sibling(&self, suffix: &str) -> PathBuf {
        let mut p = self.db.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A plain connection to a database file (no stampd pragmas).
pub fn open_db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open db")
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

static STARTS: AtomicUsize = AtomicUsize::new(0);

/// A `stampd serve` child process; killed (SIGKILL) on drop if it is still running.
pub struct Server {
    child: Child,
    pub port: u16,
    stdout: Arc<Mutex<String>>,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
}

impl Server {
    /// Starts `stampd serve` on a free port and waits until `/api/v1/status` answers.
    /// Starting again on the same `Env` is a restart on the same database.
    pub fn start(env: &Env) -> Server {
        Self::start_with(env, |_| {})
    }

    /// As `start`, with the command changed by `tweak` first (e.g. a `pre_exec` that
    /// lowers a resource limit of the server process).
    pub fn start_with(env: &Env, tweak: impl FnOnce(&mut Command)) -> Server {
        Self::start_on(env, free_port(), tweak)
    }

    /// As `start_with`, on a given port (a restart where clients know the address).
    pub fn start_on(env: &Env, port: u16, tweak: impl FnOnce(&mut Command)) -> Server {
        let bind = format!("127.0.0.1:{port}");
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = env.dir.path().join(format!("serve-{n}-{port}.log"));
        let mut command = env.command(&["serve", "--bind", &bind]);
        tweak(&mut command);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn stampd serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let pipe = child.stdout.take().expect("stdout pipe");
        let sink = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut server = Server {
            child,
            port,
            stdout,
            log,
        };
        server.wait_ready();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The process id (to read its memory in `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "stampd serve exited early ({status:?}): {}",
                    self.log_text()
                );
            }
            if let Ok(r) = ureq::get(&self.url("/api/v1/status"))
                .timeout(Duration::from_secs(2))
                .call()
            {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "stampd serve did not come up: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// What the server printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// What the server logged (stderr) so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until stdout contains `needle` (the first-start banner is printed as
    /// serving starts).
    pub fn wait_stdout(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.stdout();
            if s.contains(needle) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "stdout never showed {needle:?}: {s:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the process dies at once, whatever it was doing.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then waits (at most 20 s) for the process to end.
    pub fn terminate(&mut self) -> ExitStatus {
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "stampd did not stop within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM; the stop must be clean (exit code 0).
    pub fn stop(&mut self) {
        let status = self.terminate();
        assert!(
            status.success(),
            "stampd exited with {status:?}: {}",
            self.log_text()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The token and the URL of the first-start banner's one curl line.
pub fn banner_token(stdout: &str) -> (String, String) {
    let curl: Vec<&str> = stdout.lines().filter(|l| l.contains("curl")).collect();
    assert_eq!(curl.len(), 1, "one curl line: {stdout}");
    let line = curl[0];
    let after = line
        .split("Authorization: Bearer ")
        .nth(1)
        .unwrap_or_else(|| panic!("no bearer in {line:?}"));
    let token: String = after.chars().take_while(|c| *c != '"').collect();
    assert!(token.len() >= 32, "{stdout}");
    let url = line.split_whitespace().last().expect("url").to_string();
    (token, url)
}

/// Starts a server on a fresh database and returns it with a client of the store the
/// first start created.
pub fn first_start(env: &Env) -> (Server, Client) {
    first_start_on(Server::start(env))
}

/// `first_start` on a server already started on a fresh database.
pub fn first_start_on(server: Server) -> (Server, Client) {
    let (token, _) = banner_token(&server.wait_stdout("curl"));
    let probe = Client::new(&server, &token, 0);
    let r = probe.get("/api/v1/accounts");
    assert_eq!(r.status, 200, "{}", r.text);
    let store_id = r.body[0]["id"].as_i64().expect("store id");
    let client = Client::new(&server, &token, store_id);
    (server, client)
}

/// A request to a full URL with a bearer token: (status, JSON body).
pub fn http(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let r = send(&agent(), method, url, token, body, &[])
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    (r.status, r.body)
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
}

/// Any request; `Err` when no HTTP answer came (connection refused, reset, timeout).
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Result<Resp, String> {
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req
            .set("Content-Type", "application/json")
            .send_string(&b.to_string()),
        None => req.call(),
    };
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => Resp::read(r),
        Err(e) => Err(e.to_string()),
    }
}

/// A client of one running server, with a bearer token and a store.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    pub base: String,
    pub token: String,
    pub store_id: i64,
}

impl Client {
    pub fn new(server: &Server, token: &str, store_id: i64) -> Client {
        Client {
            agent: agent(),
            base: server.url(""),
            token: token.to_string(),
            store_id,
        }
    }

    /// The same token and store against another (restarted) server.
    pub fn against(&self, server: &Server) -> Client {
        Client::new(server, &self.token, self.store_id)
    }

    /// Any request; `Err` when no HTTP answer came (connection refused, reset, timeout).
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let url = format!("{}{}", self.base, path);
        send(&self.agent, method, &url, token, body, headers)
    }

    /// A request with this client's token that must get an HTTP answer.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.try_send(method, path, Some(&self.token), body, &[])
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some(body))
    }

    /// `/api/v1/accounts/:store` + `rest`.
    pub fn store_path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{}", self.store_id, rest)
    }

    /// Creates a card template; its id.
    pub fn create_card(&self, name: &str) -> i64 {
        let r = self.post(
            &self.store_path("/cards"),
            &json!({"card": {"name": name, "stamps_required": 10}}),
        );
        assert_eq!(r.status, 201, "create card: {}", r.text);
        r.body["id"].as_i64().expect("card id")
    }

    /// Creates a customer enrolled in `card_id`; (customer id, customer card id).
    pub fn enrol(&self, card_id: i64, email: &str) -> (i64, i64) {
        let r = self.post(
            &self.store_path("/customers"),
            &json!({"customer": {"first_name": "Ann", "email": email}, "card_id": card_id}),
        );
        assert_eq!(r.status, 201, "create customer: {}", r.text);
        (
            r.body["id"].as_i64().expect("customer id"),
            r.body["customer_card"]["id"]
                .as_i64()
                .expect("customer card id"),
        )
    }

    /// `/api/v1/accounts/:store/customers/:c/customer_cards/:id` + `rest`.
    pub fn card_path(&self, customer_id: i64, card_id: i64, rest: &str) -> String {
        self.store_path(&format!(
            "/customers/{customer_id}/customer_cards/{card_id}{rest}"
        ))
    }

    /// Every row of a customer card's ledger through the API (all pages), and the
    /// count the API reports.
    pub fn all_events(&self, customer_id: i64, card_id: i64) -> (Vec<Value>, i64) {
        let mut events = Vec::new();
        let mut count = -1;
        for page in 1..=1000 {
            let r = self.get(&self.card_path(
                customer_id,
                card_id,
                &format!("/events?items=100&page={page}"),
            ));
            assert_eq!(r.status, 200, "events: {}", r.text);
            count = r.body["pagination"]["count"].as_i64().expect("count");
            let rows = r.body["events"].as_array().expect("events").clone();
            let done = rows.is_empty() || events.len() + rows.len() >= count as usize;
            events.extend(rows);
            if done {
                break;
            }
        }
        (events, count)
    }

    /// The store's `customers_count` and the customers list's `pagination.count`.
    pub fn customer_counts(&self) -> (i64, i64) {
        let store = self.get(&self.store_path(""));
        assert_eq!(store.status, 200, "{}", store.text);
        let list = self.get(&self.store_path("/customers?items=1"));
        assert_eq!(list.status, 200, "{}", list.text);
        (
            store.body["customers_count"].as_i64().expect("count"),
            list.body["pagination"]["count"].as_i64().expect("count"),
        )
    }
}
