//! Card links by email and SMS: `send_card_links` on create and the re-send endpoint put
//! deliveries into the outbox; the background sender delivers them to a real SMTP server
//! and a real HTTP SMS gateway that these tests start themselves (small ones, below),
//! retries failures with backoff, keeps what it gave up on, leaves unconfigured channels
//! pending with "not configured", and resumes pending deliveries after a restart. Each
//! channel sends on its own, so a stuck mail server does not hold up texts.
//! `GET /accounts/:id/deliveries` lists them per store, by status, customer and channel.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stampd::config::{SmsSettings, SmtpSettings, SmtpTls};

use crate::support::app::*;

// ---------------------------------------------------------------------------------
// A small real SMTP server
// ---------------------------------------------------------------------------------

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub(crate) struct Mail {
    pub(crate) from: String,
    pub(crate) rcpt: Vec<String>,
    /// The DATA section, dot-unstuffed, without the final ".".
    pub(crate) data: String,
}

pub(crate) struct SmtpServer {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    pub(crate) fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let store = store.clone();
                std::thread::spawn(move || {
                    let _ = smtp_session(stream, &store);
                });
            }
        });
        SmtpServer { port, mails }
    }

    pub(crate) fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub(crate) fn settings(&self) -> SmtpSettings {
        smtp_settings(self.port)
    }
}

fn smtp_settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "Shop <cards@example.com>".into(),
    }
}

fn angle_address(arg: &str) -> String {
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_string(),
        _ => arg.trim().to_string(),
    }
}

fn smtp_session(stream: TcpStream, store: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 localhost ESMTP test server\r\n")?;
    let mut from = String::new();
    let mut rcpt = Vec::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-localhost greets you\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 localhost\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = angle_address(&cmd[10..]);
            rcpt.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(angle_address(&cmd[8..]));
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "DATA" {
            out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if input.read_line(&mut l)? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                match l.strip_prefix('.') {
                    Some(rest) => data.push_str(rest),
                    None => data.push_str(&l),
                }
            }
            store.lock().unwrap().push(Mail {
                from: from.clone(),
                rcpt: rcpt.clone(),
                data,
            });
            out.write_all(b"250 OK queued\r\n")?;
        } else if upper == "RSET" {
            from.clear();
            rcpt.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 Bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 Command not implemented\r\n")?;
        }
    }
}

/// An SMTP server that takes connections and never answers, as a stuck relay does,
/// until released (or dropped): then it closes them.
struct HangingSmtp {
    port: u16,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl HangingSmtp {
    fn start() -> HangingSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().unwrap().push(stream);
            }
        });
        HangingSmtp { port, held }
    }

    /// Connections taken so far.
    fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    fn release(&self) {
        for s in self.held.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for HangingSmtp {
    fn drop(&mut self) {
        self.release();
    }
}

// ---------------------------------------------------------------------------------
// MIME reading (enough for lettre's multipart/alternative messages)
// ---------------------------------------------------------------------------------

/// Splits a message or part into (unfolded headers, body).
fn split_message(raw: &str) -> (Vec<(String, String)>, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = match raw.find("\n\n") {
        Some(i) => (&raw[..i], raw[i + 2..].to_string()),
        None => (raw.as_str(), String::new()),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn boundary_of(content_type: &str) -> Option<String> {
    let i = content_type.to_ascii_lowercase().find("boundary=")?;
    let rest = &content_type[i + "boundary=".len()..];
    let b = match rest.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or(""),
        None => rest.split(';').next().unwrap_or("").trim(),
    };
    Some(b.to_string())
}

fn decode_quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_body(headers: &[(String, String)], body: &str) -> String {
    let cte = header(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    match cte.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
                .expect("base64 body");
            String::from_utf8(bytes).expect("utf-8 body")
        }
        _ => body.to_string(),
    }
}

/// A received message: its top-level headers and its leaf parts as
/// (content type, decoded text).
struct ParsedMail {
    headers: Vec<(String, String)>,
    parts: Vec<(String, String)>,
}

fn parse_mail(data: &str) -> ParsedMail {
    let (headers, body) = split_message(data);
    let mut parts = Vec::new();
    collect_parts(&headers, &body, &mut parts);
    ParsedMail { headers, parts }
}

fn collect_parts(headers: &[(String, String)], body: &str, parts: &mut Vec<(String, String)>) {
    let ct = header(headers, "Content-Type")
        .unwrap_or("text/plain")
        .to_string();
    if ct.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = boundary_of(&ct).expect("multipart has a boundary");
        let delimiter = format!("--{boundary}");
        let mut sections = body.split(delimiter.as_str());
        sections.next(); // the preamble
        for section in sections {
            if section.starts_with("--") {
                break; // the closing delimiter
            }
            let section = section.strip_prefix('\n').unwrap_or(section);
            let (h, b) = split_message(section);
            collect_parts(&h, &b, parts);
        }
    } else {
        parts.push((ct.to_ascii_lowercase(), decode_body(headers, body)));
    }
}

impl ParsedMail {
    fn part(&self, mime: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(ct, _)| ct.starts_with(mime))
            .map(|(_, text)| text.as_str())
    }
}

// ---------------------------------------------------------------------------------
// A small real HTTP server standing in for the SMS gateway
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    at: Instant,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub(crate) fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

pub(crate) struct Gateway {
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

const SID: &str = "AC0123456789abcdef";
const AUTH_TOKEN: &str = "gateway-secret";
const SMS_FROM: &str = "+15005550006";

impl Gateway {
    /// A gateway answering 201 to everything.
    pub(crate) fn start() -> Gateway {
        Gateway::scripted(&[], 201)
    }

    /// A gateway answering the statuses of `script` in turn, then `then` for ever.
    fn scripted(script: &[u16], then: u16) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind gateway");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let store = requests.clone();
        let script = Arc::new(Mutex::new(
            script.iter().copied().collect::<VecDeque<u16>>(),
        ));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let store = store.clone();
                let script = script.clone();
                std::thread::spawn(move || {
                    let _ = http_exchange(stream, &store, &script, then);
                });
            }
        });
        Gateway { port, requests }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub(crate) fn settings(&self) -> SmsSettings {
        sms_settings(self.port)
    }
}

fn sms_settings(port: u16) -> SmsSettings {
    SmsSettings {
        base_url: format!("http://127.0.0.1:{port}"),
        account_sid: SID.into(),
        auth_token: AUTH_TOKEN.into(),
        from: SMS_FROM.into(),
    }
}

fn http_exchange(
    stream: TcpStream,
    store: &Mutex<Vec<Recorded>>,
    script: &Mutex<VecDeque<u16>>,
    then: u16,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut request_line = String::new();
    if input.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = header(&headers, "Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    store.lock().unwrap().push(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    let status = script.lock().unwrap().pop_front().unwrap_or(then);
    let (reason, text) = if status < 300 {
        ("Created", r#"{"sid": "SM0123456789", "status": "queued"}"#)
    } else {
        (
            "Internal Server Error",
            r#"{"code": 20500, "message": "gateway is having a bad day"}"#,
        )
    };
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

/// A port nothing listens on (bound, then released).
fn down_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn unique() -> usize {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `f` until it gives `Some`, for up to 10 s.
pub(crate) fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The app's card (any number of stamps); its id.
fn card(app: &TestApp) -> i64 {
    app.create_card(json!({"name": format!("Coffee {}", unique()), "stamps_required": 8}))["id"]
        .as_i64()
        .expect("card id")
}

/// The customer fields a test customer gets: unique email and phone.
struct Contact {
    email: String,
    /// As typed at the counter.
    phone: String,
    /// As stored (E.164).
    e164: String,
}

fn contact() -> Contact {
    let n = unique() % 10_000;
    Contact {
        email: format!("ann{n}@example.com"),
        phone: format!("(415) 555-{n:04}"),
        e164: format!("+1415555{n:04}"),
    }
}

/// Creates a customer enrolled in `card_id` (201 JSON).
fn create(app: &TestApp, card_id: i64, c: &Contact, send: bool) -> Value {
    app.create_customer(json!({
        "customer": {"first_name": "Ann", "last_name": "Lee", "email": c.email, "phone": c.phone},
        "card_id": card_id,
        "send_card_links": send,
    }))
}

fn customer_id(created: &Value) -> i64 {
    created["id"].as_i64().expect("customer id")
}

fn uuid_of(created: &Value) -> String {
    created["customer_card"]["uuid"]
        .as_str()
        .expect("card uuid")
        .to_string()
}

/// The deliveries of `path` (a store's `/deliveries` with any query).
fn list(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&app.store_path(&format!("/deliveries{query}")));
    assert_eq!(r.status, 200, "list deliveries: {}", r.text);
    r.body["deliveries"]
        .as_array()
        .expect("deliveries array")
        .clone()
}

fn of_customer(app: &TestApp, customer: i64) -> Vec<Value> {
    list(app, &format!("?customer_id={customer}"))
}

fn by_channel<'a>(ds: &'a [Value], channel: &str) -> &'a Value {
    let found: Vec<&Value> = ds.iter().filter(|d| d["channel"] == channel).collect();
    assert_eq!(found.len(), 1, "one {channel} delivery in {ds:?}");
    found[0]
}

/// Waits until every delivery of the customer has left "pending"; returns them.
fn wait_settled(app: &TestApp, customer: i64, expected: usize) -> Vec<Value> {
    wait_for("deliveries to settle", || {
        let ds = of_customer(app, customer);
        (ds.len() == expected && ds.iter().all(|d| d["status"] != "pending")).then_some(ds)
    })
}

/// Waits until the customer's delivery of `channel` has `status`; returns all of theirs.
fn wait_channel(app: &TestApp, customer: i64, channel: &str, status: &str) -> Vec<Value> {
    wait_for(&format!("the {channel} delivery to be {status}"), || {
        let ds = of_customer(app, customer);
        ds.iter()
            .any(|d| d["channel"] == channel && d["status"] == status)
            .then_some(ds)
    })
}

fn assert_sent_once(d: &Value) {
    assert_eq!(d["status"], "sent", "{d}");
    assert_eq!(d["attempts"], 1, "{d}");
    assert!(d["sent_at"].is_string(), "sent_at is set: {d}");
}

fn card_links(base: &str, uuid: &str) -> [String; 3] {
    [
        format!("{base}/c/{uuid}"),
        format!("{base}/passes/{uuid}.pkpass"),
        format!("{base}/passes/{uuid}/google"),
    ]
}

fn expected_auth() -> String {
    format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{SID}:{AUTH_TOKEN}")
        )
    )
}

// ---------------------------------------------------------------------------------
// Delivery on create
// ---------------------------------------------------------------------------------

#[test]
fn send_card_links_on_create_emails_the_links_to_the_customer() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with(|s| s.smtp = Some(smtp.settings()));
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let (id, uuid) = (customer_id(&created), uuid_of(&created));

    let ds = wait_channel(&app, id, "email", "sent");
    assert_eq!(ds.len(), 2, "one delivery per channel: {ds:?}");
    let email = by_channel(&ds, "email");
    assert_sent_once(email);
    assert_eq!(email["address"], c.email.as_str());
    assert_eq!(email["customer_id"], id);
    assert_eq!(email["account_id"], app.store_id);
    assert_eq!(email["customer_card_id"], created["customer_card"]["id"]);

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "exactly one mail: {mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.rcpt, vec![c.email.clone()], "envelope recipient");
    assert_eq!(mail.from, "cards@example.com", "envelope sender");

    let parsed = parse_mail(&mail.data);
    let to = header(&parsed.headers, "To").expect("To header");
    assert!(to.contains(&c.email), "To: {to}");
    let from = header(&parsed.headers, "From").expect("From header");
    assert!(from.contains("cards@example.com"), "From: {from}");
    let ct = header(&parsed.headers, "Content-Type").expect("Content-Type");
    assert!(
        ct.to_ascii_lowercase().starts_with("multipart/alternative"),
        "Content-Type: {ct}"
    );
    let text = parsed.part("text/plain").expect("a text/plain part");
    let html = parsed.part("text/html").expect("a text/html part");
    for link in card_links(&app.base, &uuid) {
        assert!(text.contains(&link), "text part has {link}:\n{text}");
        assert!(html.contains(&link), "html part has {link}:\n{html}");
    }
    assert!(
        html.contains(&format!("href=\"{}/c/{uuid}\"", app.base)),
        "the web card link is a link: {html}"
    );
}

#[test]
fn the_card_link_mail_escapes_names_in_its_html_part() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with(|s| s.smtp = Some(smtp.settings()));
    let hostile = "<script>alert(\"x\")</script> & co";
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": hostile}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let card_id = app.create_card(json!({"name": hostile}))["id"]
        .as_i64()
        .expect("card id");
    let c = contact();
    let created = app.create_customer(json!({
        "customer": {"first_name": hostile, "email": c.email},
        "card_id": card_id,
        "send_card_links": true,
    }));
    wait_channel(&app, customer_id(&created), "email", "sent");

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let parsed = parse_mail(&mails[0].data);
    let html = parsed.part("text/html").expect("a text/html part");
    assert!(!html.contains("<script"), "{html}");
    // The customer's, the card's and the store's names.
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co";
    assert_eq!(html.matches(escaped).count(), 3, "{html}");
    let text = parsed.part("text/plain").expect("a text/plain part");
    assert_eq!(
        text.matches(hostile).count(),
        3,
        "plain text as typed: {text}"
    );
}

#[test]
fn send_card_links_on_create_texts_the_card_link_to_the_gateway() {
    let gw = Gateway::start();
    let app = spawn_app_with(|s| s.sms = Some(gw.settings()));
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let (id, uuid) = (customer_id(&created), uuid_of(&created));

    let ds = wait_channel(&app, id, "sms", "sent");
    assert_eq!(ds.len(), 2, "one delivery per channel: {ds:?}");
    let sms = by_channel(&ds, "sms");
    assert_sent_once(sms);
    assert_eq!(sms["address"], c.e164.as_str());
    assert_eq!(sms["customer_id"], id);
    assert_eq!(sms["account_id"], app.store_id);

    let reqs = gw.requests();
    assert_eq!(reqs.len(), 1, "exactly one request: {reqs:?}");
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(r.header("Authorization"), Some(expected_auth().as_str()));
    let ct = r.header("Content-Type").unwrap_or_default();
    assert!(
        ct.starts_with("application/x-www-form-urlencoded"),
        "Content-Type: {ct}"
    );
    assert_eq!(r.field("To").as_deref(), Some(c.e164.as_str()), "{r:?}");
    assert_eq!(r.field("From").as_deref(), Some(SMS_FROM), "{r:?}");
    let body = r.field("Body").expect("Body field");
    assert!(
        body.contains(&format!("{}/c/{uuid}", app.base)),
        "Body has the web card link: {body}"
    );
}

#[test]
fn email_and_sms_both_go_out_for_one_enrolment() {
    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let ds = wait_settled(&app, customer_id(&created), 2);
    assert_sent_once(by_channel(&ds, "email"));
    assert_sent_once(by_channel(&ds, "sms"));
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(gw.requests().len(), 1);
}

#[test]
fn links_use_the_configured_public_url() {
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.sms = Some(gw.settings());
        s.public_url = Some("https://cards.example.com".into());
    });
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), true);
    let uuid = uuid_of(&created);
    wait_channel(&app, customer_id(&created), "sms", "sent");
    let body = gw.requests()[0].field("Body").expect("Body field");
    assert!(
        body.contains(&format!("https://cards.example.com/c/{uuid}")),
        "Body: {body}"
    );
}

#[test]
fn without_send_card_links_nothing_is_queued_or_sent() {
    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), false);
    let c = contact();
    let no_flag = app.create_customer(json!({
        "customer": {"first_name": "Ann", "email": c.email, "phone": c.phone},
        "card_id": card_id,
    }));
    // A customer with the flag, created after, shows the sender has run past the others.
    let other = create(&app, card_id, &contact(), true);
    wait_settled(&app, customer_id(&other), 2);
    assert!(of_customer(&app, customer_id(&created)).is_empty());
    assert!(of_customer(&app, customer_id(&no_flag)).is_empty());
    assert_eq!(
        list(&app, "").len(),
        2,
        "only the flagged customer's deliveries"
    );
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(gw.requests().len(), 1);
}

#[test]
fn only_the_channels_the_customer_has_an_address_for_are_queued() {
    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });
    let card_id = card(&app);
    let c = contact();
    let email_only = app.create_customer(json!({
        "customer": {"first_name": "Eve", "email": c.email},
        "card_id": card_id, "send_card_links": true,
    }));
    let ds = wait_settled(&app, customer_id(&email_only), 1);
    assert_eq!(ds[0]["channel"], "email");
    assert_sent_once(&ds[0]);

    let c = contact();
    let phone_only = app.create_customer(json!({
        "customer": {"first_name": "Pat", "phone": c.phone},
        "card_id": card_id, "send_card_links": true,
    }));
    let ds = wait_settled(&app, customer_id(&phone_only), 1);
    assert_eq!(ds[0]["channel"], "sms");
    assert_eq!(ds[0]["address"], c.e164.as_str());
    assert_sent_once(&ds[0]);
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(gw.requests().len(), 1);
}

// ---------------------------------------------------------------------------------
// Re-send
// ---------------------------------------------------------------------------------

#[test]
fn resend_queues_new_deliveries_and_they_arrive() {
    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, false);
    let (id, uuid) = (customer_id(&created), uuid_of(&created));
    assert!(of_customer(&app, id).is_empty());

    let path = app.store_path(&format!("/customers/{id}/send_card_links"));
    for round in 1..=2usize {
        if round == 2 {
            // Card links go at most once every 10 minutes: a re-send right away is
            // refused; one after the wait goes (the first send is moved 11 minutes back).
            let r = app.post(&path, &json!({}));
            assert_eq!(r.status, 429, "{}", r.text);
            app.conn()
                .execute(
                    "UPDATE outbox SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-11 minutes')",
                    [],
                )
                .unwrap();
        }
        let r = app.post(&path, &json!({}));
        assert_eq!(r.status, 201, "re-send: {}", r.text);
        let queued = r.body["deliveries"].as_array().expect("deliveries").clone();
        assert_eq!(queued.len(), 2, "{queued:?}");
        for d in &queued {
            assert_eq!(d["status"], "pending", "{d}");
            assert_eq!(d["attempts"], 0, "{d}");
            assert_eq!(d["customer_id"], id);
        }
        assert_eq!(by_channel(&queued, "email")["address"], c.email.as_str());
        assert_eq!(by_channel(&queued, "sms")["address"], c.e164.as_str());

        let all = wait_settled(&app, id, 2 * round);
        for q in &queued {
            let now = all.iter().find(|d| d["id"] == q["id"]).expect("listed");
            assert_sent_once(now);
        }
        assert_eq!(smtp.mails().len(), round);
        assert_eq!(gw.requests().len(), round);
    }
    let mail = parse_mail(&smtp.mails()[1].data);
    let text = mail.part("text/plain").expect("text part");
    assert!(text.contains(&format!("{}/c/{uuid}", app.base)), "{text}");
    assert_eq!(smtp.mails()[1].rcpt, vec![c.email.clone()]);
    assert_eq!(
        gw.requests()[1].field("To").as_deref(),
        Some(c.e164.as_str())
    );
}

#[test]
fn resend_without_a_card_is_422_and_unknown_customer_404() {
    let app = spawn_app();
    let c = contact();
    let created = app.create_customer(json!({"customer": {"first_name": "Ann", "email": c.email}}));
    let id = customer_id(&created);
    let r = app.post(
        &app.store_path(&format!("/customers/{id}/send_card_links")),
        &json!({}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(list(&app, "").is_empty(), "nothing queued");

    let r = app.post(
        &app.store_path("/customers/999999/send_card_links"),
        &json!({}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
}

// ---------------------------------------------------------------------------------
// Failures and retries
// ---------------------------------------------------------------------------------

#[test]
fn a_gateway_answering_500_is_retried_then_the_delivery_is_kept_failed() {
    let gw = Gateway::scripted(&[], 500);
    let app = spawn_app_with(|s| {
        s.sms = Some(gw.settings());
        s.delivery_max_attempts = 3;
        s.delivery_retry_base_secs = 0;
    });
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), true);
    let id = customer_id(&created);

    let sms = wait_for("the SMS delivery to fail", || {
        let ds = of_customer(&app, id);
        ds.into_iter()
            .find(|d| d["channel"] == "sms" && d["status"] == "failed")
    });
    assert_eq!(sms["attempts"], 3, "{sms}");
    let error = sms["last_error"].as_str().expect("last_error kept");
    assert!(
        error.contains("500"),
        "last_error names the answer: {error}"
    );
    assert!(sms["sent_at"].is_null(), "{sms}");
    assert_eq!(gw.requests().len(), 3, "one request per try");

    // Kept, and no further tries.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.requests().len(), 3, "no try after the last");
    let failed = list(&app, "?status=failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["id"], sms["id"]);
    assert_eq!(failed[0]["attempts"], 3);
}

#[test]
fn down_servers_lead_to_retries_then_kept_failed_deliveries() {
    let (smtp_port, sms_port) = (down_port(), down_port());
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp_settings(smtp_port));
        s.sms = Some(sms_settings(sms_port));
        s.delivery_max_attempts = 2;
        s.delivery_retry_base_secs = 0;
    });
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), true);
    let ds = wait_settled(&app, customer_id(&created), 2);
    for d in &ds {
        assert_eq!(d["status"], "failed", "{d}");
        assert_eq!(d["attempts"], 2, "{d}");
        let error = d["last_error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "last_error kept: {d}");
        assert!(d["sent_at"].is_null(), "{d}");
    }
}

#[test]
fn a_failed_try_is_retried_and_then_sent() {
    let gw = Gateway::scripted(&[500], 201);
    let app = spawn_app_with(|s| {
        s.sms = Some(gw.settings());
        s.delivery_max_attempts = 3;
        s.delivery_retry_base_secs = 0;
    });
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let id = customer_id(&created);
    let sms = wait_for("the SMS delivery to be sent", || {
        of_customer(&app, id)
            .into_iter()
            .find(|d| d["channel"] == "sms" && d["status"] == "sent")
    });
    assert_eq!(sms["attempts"], 2, "{sms}");
    assert!(sms["sent_at"].is_string(), "{sms}");
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for r in &reqs {
        assert_eq!(r.field("To").as_deref(), Some(c.e164.as_str()));
    }
}

#[test]
fn retries_wait_with_a_doubling_backoff() {
    let gw = Gateway::scripted(&[], 500);
    let app = spawn_app_with(|s| {
        s.sms = Some(gw.settings());
        s.delivery_max_attempts = 3;
        s.delivery_retry_base_secs = 1;
    });
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), true);
    let id = customer_id(&created);

    // After the first failed try the delivery waits, pending, with a next attempt.
    let waiting = wait_for("the first failed try", || {
        of_customer(&app, id)
            .into_iter()
            .find(|d| d["channel"] == "sms" && d["attempts"] == 1)
    });
    assert_eq!(waiting["status"], "pending", "{waiting}");
    assert!(waiting["next_attempt_at"].is_string(), "{waiting}");
    assert!(waiting["last_error"].is_string(), "{waiting}");

    let sms = wait_for("the SMS delivery to fail", || {
        of_customer(&app, id)
            .into_iter()
            .find(|d| d["channel"] == "sms" && d["status"] == "failed")
    });
    assert_eq!(sms["attempts"], 3, "{sms}");
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    let first_wait = reqs[1].at - reqs[0].at;
    let second_wait = reqs[2].at - reqs[1].at;
    assert!(
        first_wait >= Duration::from_millis(900),
        "first retry after ~1 s, got {first_wait:?}"
    );
    assert!(
        second_wait >= Duration::from_millis(1900),
        "second retry after ~2 s, got {second_wait:?}"
    );
}

/// Each channel sends on its own: a mail server that takes the connection and then
/// says nothing does not hold up the text queued with the mail.
#[test]
fn a_hanging_mail_server_does_not_delay_the_text() {
    let smtp = HangingSmtp::start();
    let gw = Gateway::start();
    let app = spawn_app_with(|s| {
        s.smtp = Some(smtp_settings(smtp.port));
        s.sms = Some(gw.settings());
    });
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let id = customer_id(&created);
    // The mail went first (its row is older) and is stuck talking to the server.
    wait_for("the mail try to reach the server", || {
        (smtp.connections() > 0).then_some(())
    });
    let ds = wait_channel(&app, id, "sms", "sent");
    assert_sent_once(by_channel(&ds, "sms"));
    let email = by_channel(&ds, "email");
    assert_eq!(email["status"], "pending", "{email}");
    assert_eq!(
        email["attempts"], 0,
        "the mail try is still under way: {email}"
    );
    assert!(smtp.connections() > 0, "and still holds its connection");
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].field("To").as_deref(), Some(c.e164.as_str()));

    // Released, the stuck try fails and is kept for a retry.
    smtp.release();
    let email = wait_for("the mail try to end", || {
        of_customer(&app, id)
            .into_iter()
            .find(|d| d["channel"] == "email" && d["attempts"] == 1)
    });
    assert_eq!(email["status"], "pending", "{email}");
    assert!(email["last_error"].is_string(), "{email}");
}

#[test]
fn unconfigured_channels_keep_deliveries_pending_as_not_configured() {
    let app = spawn_app();
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), true);
    let id = customer_id(&created);
    let ds = wait_for("the not-configured reason", || {
        let ds = of_customer(&app, id);
        (ds.len() == 2 && ds.iter().all(|d| d["last_error"] == "not configured")).then_some(ds)
    });
    for d in &ds {
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["attempts"], 0, "{d}");
        assert!(d["sent_at"].is_null(), "{d}");
    }
    std::thread::sleep(Duration::from_millis(300));
    for d in of_customer(&app, id) {
        assert_eq!(d["status"], "pending", "still waiting: {d}");
        assert_eq!(d["attempts"], 0, "never tried: {d}");
        assert_eq!(d["last_error"], "not configured");
    }
    assert_eq!(list(&app, "?status=pending").len(), 2);
}

#[test]
fn a_configured_channel_sends_while_the_other_waits_as_not_configured() {
    let gw = Gateway::start();
    let app = spawn_app_with(|s| s.sms = Some(gw.settings()));
    let card_id = card(&app);
    let created = create(&app, card_id, &contact(), true);
    let id = customer_id(&created);
    let ds = wait_for("sms sent and email waiting", || {
        let ds = of_customer(&app, id);
        let sms_sent = ds
            .iter()
            .any(|d| d["channel"] == "sms" && d["status"] == "sent");
        let email_waits = ds
            .iter()
            .any(|d| d["channel"] == "email" && d["last_error"] == "not configured");
        (sms_sent && email_waits).then_some(ds)
    });
    assert_sent_once(by_channel(&ds, "sms"));
    let email = by_channel(&ds, "email");
    assert_eq!(email["status"], "pending", "{email}");
    assert_eq!(email["attempts"], 0, "{email}");
}

// ---------------------------------------------------------------------------------
// Restarts
// ---------------------------------------------------------------------------------

#[test]
fn a_restart_with_settings_sends_deliveries_that_waited_unconfigured() {
    let mut app = spawn_app();
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let (id, uuid) = (customer_id(&created), uuid_of(&created));
    wait_for("the not-configured reason", || {
        let ds = of_customer(&app, id);
        (ds.len() == 2 && ds.iter().all(|d| d["last_error"] == "not configured")).then_some(())
    });
    app.stop();

    let smtp = SmtpServer::start();
    let gw = Gateway::start();
    app.restart_with(|s| {
        s.smtp = Some(smtp.settings());
        s.sms = Some(gw.settings());
    });

    let ds = wait_settled(&app, id, 2);
    assert_sent_once(by_channel(&ds, "email"));
    assert_sent_once(by_channel(&ds, "sms"));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].rcpt, vec![c.email.clone()]);
    let text = parse_mail(&mails[0].data)
        .part("text/plain")
        .expect("text part")
        .to_string();
    assert!(text.contains(&format!("/c/{uuid}")), "{text}");
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].field("To").as_deref(), Some(c.e164.as_str()));
    assert!(reqs[0]
        .field("Body")
        .unwrap_or_default()
        .contains(&format!("/c/{uuid}")));
}

#[test]
fn a_retry_scheduled_before_a_restart_is_made_after_it() {
    let failing = Gateway::scripted(&[], 500);
    let mut app = spawn_app_with(|s| {
        s.sms = Some(failing.settings());
        s.delivery_max_attempts = 5;
        s.delivery_retry_base_secs = 1;
    });
    let card_id = card(&app);
    let c = contact();
    let created = create(&app, card_id, &c, true);
    let id = customer_id(&created);
    wait_for("the first failed try", || {
        of_customer(&app, id)
            .into_iter()
            .find(|d| d["channel"] == "sms" && d["attempts"] == 1)
    });
    app.stop();
    let tries_before = failing.requests().len();
    assert!(tries_before >= 1);

    let gw = Gateway::start();
    app.restart_with(|s| {
        s.sms = Some(gw.settings());
        s.delivery_max_attempts = 5;
        s.delivery_retry_base_secs = 1;
    });

    let sms = wait_for("the SMS to be sent after the restart", || {
        of_customer(&app, id)
            .into_iter()
            .find(|d| d["channel"] == "sms" && d["status"] == "sent")
    });
    assert_eq!(
        sms["attempts"].as_i64(),
        Some(tries_before as i64 + 1),
        "the tries before the restart count: {sms}"
    );
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].field("To").as_deref(), Some(c.e164.as_str()));
}

// ---------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------

#[test]
fn deliveries_of_another_store_are_not_listed() {
    let app = spawn_app();
    let (other_id, other_token) = app.new_store("Other Store");
    let card_id = card(&app);
    let mine = create(&app, card_id, &contact(), true);

    let as_other = |method: &str, path: &str, body: Option<&Value>| {
        app.request(
            method,
            &format!("/api/v1/accounts/{other_id}{path}"),
            Some(&other_token),
            body.map(|_| "application/json"),
            body.map(|b| b.to_string()).as_deref(),
        )
    };
    let r = as_other(
        "POST",
        "/cards",
        Some(&json!({"card": {"name": "Other card"}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other_card = r.body["id"].as_i64().unwrap();
    let c = contact();
    let r = as_other(
        "POST",
        "/customers",
        Some(&json!({
            "customer": {"first_name": "Bo", "email": c.email, "phone": c.phone},
            "card_id": other_card, "send_card_links": true,
        })),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.body["id"].as_i64().unwrap();

    let listed = list(&app, "");
    assert_eq!(listed.len(), 2, "{listed:?}");
    for d in &listed {
        assert_eq!(d["account_id"], app.store_id, "{d}");
        assert_eq!(d["customer_id"], customer_id(&mine), "{d}");
    }
    assert_eq!(
        app.get(&app.store_path("/deliveries")).body["pagination"]["count"],
        2
    );
    assert!(list(&app, &format!("?customer_id={theirs}")).is_empty());

    let r = as_other("GET", "/deliveries", None);
    assert_eq!(r.status, 200, "{}", r.text);
    let theirs_listed = r.body["deliveries"].as_array().unwrap();
    assert_eq!(theirs_listed.len(), 2, "{theirs_listed:?}");
    for d in theirs_listed {
        assert_eq!(d["account_id"], other_id, "{d}");
        assert_eq!(d["customer_id"], theirs, "{d}");
        assert!(
            d["address"] == c.email.as_str() || d["address"] == c.e164.as_str(),
            "{d}"
        );
    }

    // Neither token reaches the other's list.
    let r = app.get(&format!("/api/v1/accounts/{other_id}/deliveries"));
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app.request(
        "GET",
        &app.store_path("/deliveries"),
        Some(&other_token),
        None,
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text);
}

#[test]
fn the_list_filters_by_status_and_customer() {
    let gw = Gateway::start();
    let app = spawn_app_with(|s| s.sms = Some(gw.settings()));
    let card_id = card(&app);
    let a = create(&app, card_id, &contact(), true);
    let b = create(&app, card_id, &contact(), true);
    let (a, b) = (customer_id(&a), customer_id(&b));
    wait_for("both SMS sent", || {
        (list(&app, "?status=sent").len() == 2).then_some(())
    });
    wait_for("both emails waiting", || {
        let p = list(&app, "?status=pending");
        (p.len() == 2 && p.iter().all(|d| d["last_error"] == "not configured")).then_some(())
    });
    for d in list(&app, "?status=sent") {
        assert_eq!(d["channel"], "sms", "{d}");
    }
    for d in list(&app, "?status=pending") {
        assert_eq!(d["channel"], "email", "{d}");
    }
    assert!(list(&app, "?status=failed").is_empty());
    let only_a = list(&app, &format!("?customer_id={a}"));
    assert_eq!(only_a.len(), 2);
    assert!(only_a.iter().all(|d| d["customer_id"] == a));
    let b_sent = list(&app, &format!("?customer_id={b}&status=sent"));
    assert_eq!(b_sent.len(), 1);
    assert_eq!(b_sent[0]["customer_id"], b);
    assert_eq!(b_sent[0]["channel"], "sms");

    let r = app.get(&app.store_path("/deliveries?status=lost"));
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app.request("GET", &app.store_path("/deliveries"), None, None, None);
    assert_eq!(r.status, 401, "{}", r.text);
}

#[test]
fn the_list_filters_by_channel_and_refuses_other_channels() {
    let gw = Gateway::start();
    let app = spawn_app_with(|s| s.sms = Some(gw.settings()));
    let card_id = card(&app);
    let a = customer_id(&create(&app, card_id, &contact(), true));
    let b = customer_id(&create(&app, card_id, &contact(), true));
    wait_for("both SMS sent", || {
        (list(&app, "?status=sent").len() == 2).then_some(())
    });
    for (channel, other) in [("email", "sms"), ("sms", "email")] {
        let ds = list(&app, &format!("?channel={channel}"));
        assert_eq!(ds.len(), 2, "{ds:?}");
        assert!(ds.iter().all(|d| d["channel"] == channel), "{ds:?}");
        let r = app.get(&app.store_path(&format!("/deliveries?channel={channel}")));
        assert_eq!(r.body["pagination"]["count"], 2, "{}", r.text);
        assert!(!ds.iter().any(|d| d["channel"] == other));
    }
    let sms_of_b = list(&app, &format!("?channel=sms&customer_id={b}&status=sent"));
    assert_eq!(sms_of_b.len(), 1, "{sms_of_b:?}");
    assert_eq!(sms_of_b[0]["customer_id"], b);
    assert!(list(&app, "?channel=sms&status=pending").is_empty());
    assert_eq!(
        list(&app, &format!("?channel=email&customer_id={a}")).len(),
        1
    );
    assert_eq!(
        list(&app, "?channel=").len(),
        4,
        "an empty filter is no filter"
    );

    for bad in ["fax", "webhook", "EMAIL"] {
        let r = app.get(&app.store_path(&format!("/deliveries?channel={bad}")));
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
        assert_eq!(
            r.body["errors"]["channel"],
            json!(["is not included in the list (email, sms, apns, google)"]),
            "{bad}: {}",
            r.text
        );
    }
    let r = app.get(&app.store_path("/deliveries?channel=fax&status=lost"));
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["errors"]["channel"].is_array(), "{}", r.text);
    assert!(r.body["errors"]["status"].is_array(), "{}", r.text);
}

/// Rows of other channels share the outbox table but are not card-link deliveries:
/// the list and its count leave them out.
#[test]
fn rows_of_other_channels_are_not_listed() {
    let app = spawn_app();
    let card_id = card(&app);
    let id = customer_id(&create(&app, card_id, &contact(), true));
    app.conn()
        .execute(
            "INSERT INTO outbox (channel, store_id, customer_id, address, payload, key,
                 next_attempt_at, created_at, updated_at)
             VALUES ('webhook', ?1, ?2, 'subscription-1', '{}', 'event-1',
                 '2124-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z',
                 '2024-01-01T00:00:00.000Z')",
            rusqlite::params![app.store_id, id],
        )
        .expect("a row of another channel");
    let ds = list(&app, "");
    assert_eq!(ds.len(), 2, "{ds:?}");
    assert!(ds
        .iter()
        .all(|d| d["channel"] == "email" || d["channel"] == "sms"));
    let r = app.get(&app.store_path("/deliveries"));
    assert_eq!(r.body["pagination"]["count"], 2, "{}", r.text);
    assert_eq!(of_customer(&app, id).len(), 2);
    assert_eq!(list(&app, "?status=pending").len(), 2);
}

#[test]
fn a_delivery_has_the_documented_fields() {
    let app = spawn_app();
    let card_id = card(&app);
    create(&app, card_id, &contact(), true);
    let ds = list(&app, "");
    assert_eq!(ds.len(), 2);
    let mut keys: Vec<&str> = ds[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    let mut expected = vec![
        "id",
        "account_id",
        "customer_id",
        "customer_card_id",
        "channel",
        "address",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
        "created_at",
        "updated_at",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

#[test]
fn the_card_link_setup_says_which_channels_are_set_up() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with(|s| s.smtp = Some(smtp.settings()));
    let r = app.get_ok(&app.store_path("/card_links"));
    assert_eq!((&r["email"], &r["sms"]), (&json!(true), &json!(false)));
    let gw = Gateway::start();
    let app = spawn_app_with(|s| s.sms = Some(gw.settings()));
    let r = app.get_ok(&app.store_path("/card_links"));
    assert_eq!((&r["email"], &r["sms"]), (&json!(false), &json!(true)));
}
