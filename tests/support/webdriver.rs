//! A small W3C WebDriver client on top of `ureq`: starts `chromedriver`, opens a headless
//! Chromium session and offers what a test acting as a person needs (navigate, find by
//! CSS, click, type, read text, run a script, take a screenshot).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The key every element reference in WebDriver's JSON is stored under.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The Enter key, as WebDriver's key codes write it.
pub const ENTER: &str = "\u{E007}";

/// How long `wait_*` helpers keep polling before they give up.
pub const WAIT: Duration = Duration::from_secs(15);

/// A running `chromedriver`, stopped when dropped.
pub struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    pub fn start(chromedriver: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let started = Instant::now();
        loop {
            let ready = driver
                .agent
                .get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                return driver;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not become ready on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new headless Chromium with a fresh profile and the given window size.
    pub fn session(&self, chromium: &Path, width: u32, height: u32) -> Session {
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            format!("--window-size={width},{height}"),
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--lang=en-US",
                            format!("--user-data-dir={}", profile.path().display()),
                        ]
                    }
                }
            }
        });
        let value = call(
            &self.agent,
            "POST",
            &format!("{}/session", self.base),
            Some(caps),
        )
        .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        let id = value["sessionId"].as_str().expect("session id").to_string();
        let session = Session {
            base: format!("{}/session/{id}", self.base),
            agent: self.agent.clone(),
            _profile: profile,
        };
        session.set_window_size(width, height);
        session
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Session {
    base: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

/// An element of the page, as WebDriver names it.
#[derive(Clone, Debug)]
pub struct Element(String);

/// One WebDriver command: its `value`, or the error WebDriver answered.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let req = agent.request(method, url);
    let result = match body {
        Some(b) => req.send_json(b),
        None if method == "POST" => req.send_json(json!({})),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(format!("{method} {url}: {e}")),
    };
    let status = resp.status();
    let v: Value = resp
        .into_json()
        .map_err(|e| format!("{method} {url}: unreadable answer: {e}"))?;
    if status >= 400 {
        return Err(format!(
            "{}: {}",
            v["value"]["error"].as_str().unwrap_or("error"),
            v["value"]["message"]
                .as_str()
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
        ));
    }
    Ok(v["value"].clone())
}

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(&self.agent, method, &format!("{}{path}", self.base), body)
    }

    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.cmd(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Sizes the window so that the page itself gets `width`×`height` CSS pixels, the
    /// way a tablet's screen is measured.
    pub fn set_window_size(&self, width: u32, height: u32) {
        let resize = |w: i64, h: i64| {
            self.must(
                "POST",
                "/window/rect",
                Some(json!({"width": w, "height": h})),
            );
        };
        let (w, h) = (i64::from(width), i64::from(height));
        resize(w, h);
        let inner = self.execute("return [window.innerWidth, window.innerHeight];", json!([]));
        let (iw, ih) = (
            inner[0].as_i64().unwrap_or(w),
            inner[1].as_i64().unwrap_or(h),
        );
        if (iw, ih) != (w, h) {
            resize(2 * w - iw, 2 * h - ih);
        }
    }

    pub fn goto(&self, url: &str) {
        self.must("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn refresh(&self) {
        self.must("POST", "/refresh", None);
    }

    pub fn find(&self, css: &str) -> Option<Element> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .ok()?;
        v[ELEMENT_KEY].as_str().map(|s| Element(s.to_string()))
    }

    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
        .collect()
    }

    pub fn is_displayed(&self, el: &Element) -> bool {
        self.cmd("GET", &format!("/element/{}/displayed", el.0), None)
            .map(|v| v == json!(true))
            .unwrap_or(false)
    }

    /// The first element matching `css` that is shown, once there is one.
    pub fn wait_for(&self, css: &str) -> Element {
        self.wait_until(&format!("{css} to be shown"), || {
            self.find_all(css)
                .into_iter()
                .find(|e| self.is_displayed(e))
        })
    }

    /// Polls `probe` until it gives a value; panics after [`WAIT`].
    pub fn wait_until<T>(&self, what: &str, probe: impl FnMut() -> Option<T>) -> T {
        self.try_until(probe).unwrap_or_else(|| {
            panic!(
                "waited {}s for {what}; the page shows:\n{}",
                WAIT.as_secs(),
                self.body_text()
            )
        })
    }

    /// Polls `probe` until it gives a value, for at most [`WAIT`].
    fn try_until<T>(&self, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
        let started = Instant::now();
        loop {
            if let Some(v) = probe() {
                return Some(v);
            }
            if started.elapsed() > WAIT {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until an element matching `css` shows a text containing `needle`.
    pub fn wait_for_text(&self, css: &str, needle: &str) -> Element {
        self.wait_until(&format!("{css} to show {needle:?}"), || {
            self.find_all(css)
                .into_iter()
                .find(|e| self.text(e).contains(needle))
        })
    }

    /// Clicks the shown element matching `css`, waiting for it to be shown and enabled.
    pub fn click(&self, css: &str) {
        let last_error = std::cell::RefCell::new(String::from("not shown"));
        let clicked = self.try_until(|| {
            let el = self
                .find_all(css)
                .into_iter()
                .find(|e| self.is_displayed(e))?;
            if self.property(&el, "disabled") == json!(true) {
                *last_error.borrow_mut() = "disabled".into();
                return None;
            }
            self.scroll_to(&el);
            match self.cmd("POST", &format!("/element/{}/click", el.0), None) {
                Ok(_) => Some(()),
                Err(e) => {
                    *last_error.borrow_mut() = e;
                    None
                }
            }
        });
        if clicked.is_none() {
            panic!(
                "could not click {css}: {}; the page shows:\n{}",
                last_error.borrow(),
                self.body_text()
            );
        }
    }

    /// Scrolls the element to the middle of the window, as a person scrolls to what
    /// they are about to touch (the page's sticky top bar covers the top edge).
    pub fn scroll_to(&self, el: &Element) {
        let _ = self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
                "args": [{ ELEMENT_KEY: el.0 }]
            })),
        );
    }

    /// Types `text` into the shown element matching `css` (as keystrokes).
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.wait_for(css);
        self.must(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        );
    }

    /// Empties a text field, then types `text` into it. A field the page draws anew
    /// in between (a stale element) is found again and done over.
    pub fn replace_text(&self, css: &str, text: &str) {
        let last_error = std::cell::RefCell::new(String::new());
        let done = self.try_until(|| {
            let el = self.wait_for(css);
            let typed = self
                .cmd("POST", &format!("/element/{}/clear", el.0), None)
                .and_then(|_| {
                    self.cmd(
                        "POST",
                        &format!("/element/{}/value", el.0),
                        Some(json!({ "text": text })),
                    )
                });
            typed.map_err(|e| *last_error.borrow_mut() = e).ok()
        });
        if done.is_none() {
            panic!("could not type into {css}: {}", last_error.borrow());
        }
    }

    /// Clicks the shown element matching `css` whose text contains `needle`, finding it
    /// again when the page draws it anew before the click lands.
    pub fn click_text(&self, css: &str, needle: &str) {
        let clicked = self.try_until(|| {
            let el = self
                .find_all(css)
                .into_iter()
                .find(|e| self.is_displayed(e) && self.text(e).contains(needle))?;
            self.scroll_to(&el);
            self.cmd("POST", &format!("/element/{}/click", el.0), None)
                .ok()
        });
        if clicked.is_none() {
            panic!(
                "could not click {css} showing {needle:?}; the page shows:\n{}",
                self.body_text()
            );
        }
    }

    /// Types on the keyboard into whatever has the focus, as a barcode scanner does.
    pub fn keyboard(&self, text: &str) {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.must(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "scanner", "actions": actions}]})),
        );
        self.must("DELETE", "/actions", None);
    }

    pub fn text(&self, el: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The text of the first shown element matching `css`.
    pub fn text_of(&self, css: &str) -> String {
        let el = self.wait_for(css);
        self.text(&el)
    }

    pub fn property(&self, el: &Element, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{}/property/{name}", el.0), None)
            .unwrap_or(Value::Null)
    }

    pub fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.must(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// The id of the element that has the focus (empty when it has none).
    pub fn focused_id(&self) -> String {
        self.execute(
            "return document.activeElement ? document.activeElement.id : '';",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub fn current_url(&self) -> String {
        self.must("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn body_text(&self) -> String {
        self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": "body"})),
        )
        .ok()
        .and_then(|v| v[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
        .map(|b| self.text(&b))
        .unwrap_or_else(|| "(no page)".into())
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &Path) {
        let data = self.must("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("screenshot data"))
            .expect("screenshot is base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("screenshot written");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = call(&self.agent, "DELETE", &self.base, None);
    }
}
