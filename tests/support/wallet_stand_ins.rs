//! Stand-ins for the services live wallet cards talk to, run by the tests (and the load
//! benchmark) on 127.0.0.1:
//!
//! - [`ApnsStandIn`]: Apple's push service. HTTP/2 over TLS with a certificate of a CA
//!   made here (rcgen; stampd trusts it through `extra_ca_file`); it asks for a client
//!   certificate and accepts only one issued under the given root (the test Pass Type ID
//!   chain), checks the method, path, `apns-topic` and body of each push, records them,
//!   and answers 200, or what the test asks (410, 429, 500 ...), or holds its answers.
//! - [`GoogleStandIn`]: Google's token endpoint and Wallet REST API over plain HTTP. It
//!   verifies each token request's JWT assertion with the service account's public key,
//!   keeps the classes and objects written to it (answering 404 for those it does not
//!   hold, as Google does), and records every call.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------
// APNs
// ---------------------------------------------------------------------------------

/// One push as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Push {
    pub method: String,
    pub path: String,
    /// The device token of the path.
    pub token: String,
    pub topic: Option<String>,
    pub push_type: Option<String>,
    pub priority: Option<String>,
    pub body: Vec<u8>,
    /// The leaf certificate the client presented (DER).
    pub client_certificate: Vec<u8>,
    /// What it was answered.
    pub status: u16,
}

#[derive(Default)]
struct ApnsState {
    pushes: Vec<Push>,
    /// Answers for the next pushes, in order: (status, reason).
    next: VecDeque<(u16, String)>,
    /// Answers for every push to a token.
    by_token: HashMap<String, (u16, String)>,
    /// Pushes waiting for `release`.
    held: bool,
    /// Pushes being held now.
    holding: usize,
}

struct ApnsShared {
    state: Mutex<ApnsState>,
    changed: Condvar,
}

/// Apple's push service, played on 127.0.0.1 (see the module's notes).
pub struct ApnsStandIn {
    /// `https://localhost:<port>`: stampd's `apns_base_url`.
    pub url: String,
    /// The stand-in's CA (PEM): stampd's `extra_ca_file`.
    pub ca_file: PathBuf,
    shared: Arc<ApnsShared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A CA and a server certificate it issued for localhost and 127.0.0.1 (rcgen), the
/// CA written to `dir/<name>-ca.pem`: the server's chain and key, and the CA file.
pub fn server_identity(
    dir: &Path,
    name: &str,
) -> (
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
    PathBuf,
) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose, SanType};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("stampd test {name} CA"));
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("server key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let cert = leaf.signed_by(&key, &issuer).expect("server certificate");
    let ca_file = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&ca_file, ca_cert.pem()).expect("write the CA");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (vec![cert.der().clone()], key, ca_file)
}

impl ApnsStandIn {
    /// Starts the stand-in; it accepts client certificates issued under `client_root`
    /// (a PEM file) and pushes for `topic`. Its CA goes to `dir`.
    pub fn start(dir: &Path, client_root: &Path, topic: &str) -> ApnsStandIn {
        use rustls::server::WebPkiClientVerifier;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(client_root).expect("the client root") {
            roots.add(cert.expect("a certificate")).expect("a root");
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .expect("a client verifier");
        let (chain, key, ca_file) = server_identity(dir, "apns");
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("the server certificate");
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(ApnsShared {
            state: Mutex::new(ApnsState::default()),
            changed: Condvar::new(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let topic = topic.to_string();
        let serving = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let accept = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let acceptor = acceptor.clone();
                        let shared = serving.clone();
                        let topic = topic.clone();
                        tokio::spawn(async move {
                            // A client without an acceptable certificate fails here.
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let certificate = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| c.to_vec())
                                .unwrap_or_default();
                            let Ok(mut connection) = h2::server::handshake(tls).await else {
                                return;
                            };
                            while let Some(Ok((request, respond))) = connection.accept().await {
                                let shared = shared.clone();
                                let topic = topic.clone();
                                let certificate = certificate.clone();
                                tokio::spawn(answer_push(
                                    shared,
                                    topic,
                                    certificate,
                                    request,
                                    respond,
                                ));
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        ApnsStandIn {
            url: format!("https://localhost:{port}"),
            ca_file,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ApnsState) -> T) -> T {
        let mut state = self.shared.state.lock().unwrap();
        let out = f(&mut state);
        self.shared.changed.notify_all();
        out
    }

    /// Every push received so far, in order.
    pub fn pushes(&self) -> Vec<Push> {
        self.with(|s| s.pushes.clone())
    }

    /// The pushes received for `token`.
    pub fn pushes_to(&self, token: &str) -> Vec<Push> {
        self.with(|s| {
            s.pushes
                .iter()
                .filter(|p| p.token == token)
                .cloned()
                .collect()
        })
    }

    /// Waits until `n` pushes were answered in all (held ones are not, see `holding`);
    /// panics after `within`.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Push> {
        let deadline = Instant::now() + within;
        let mut state = self.shared.state.lock().unwrap();
        while state.pushes.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{} pushes within {within:?}, not {n}: {:?}",
                state.pushes.len(),
                state.pushes
            );
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
        state.pushes.clone()
    }

    /// How many pushes are held now.
    pub fn holding(&self) -> usize {
        self.with(|s| s.holding)
    }

    /// Answers the next pushes with these statuses and reasons, in order.
    pub fn answer_next(&self, answers: &[(u16, &str)]) {
        self.with(|s| {
            s.next
                .extend(answers.iter().map(|(st, r)| (*st, r.to_string())))
        });
    }

    /// Answers every push to `token` so.
    pub fn answer_token(&self, token: &str, status: u16, reason: &str) {
        self.with(|s| {
            s.by_token
                .insert(token.to_string(), (status, reason.to_string()))
        });
    }

    /// Holds the answers of pushes from now on, until `release`.
    pub fn hold(&self) {
        self.with(|s| s.held = true);
    }

    /// Answers the held pushes, and the next ones at once.
    pub fn release(&self) {
        self.with(|s| s.held = false);
    }
}

impl Drop for ApnsStandIn {
    fn drop(&mut self) {
        self.release();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one push, checks it, waits while answers are held, and answers it.
async fn answer_push(
    shared: Arc<ApnsShared>,
    topic: String,
    certificate: Vec<u8>,
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
) {
    let (head, mut body) = request.into_parts();
    let mut read = Vec::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        read.extend_from_slice(&chunk);
    }
    let header = |name: &str| {
        head.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = head.uri.path().to_string();
    let token = path.strip_prefix("/3/device/").unwrap_or("").to_string();
    let mut push = Push {
        method: head.method.to_string(),
        path: path.clone(),
        token: token.clone(),
        topic: header("apns-topic"),
        push_type: header("apns-push-type"),
        priority: header("apns-priority"),
        body: read,
        client_certificate: certificate,
        status: 0,
    };
    // What Apple itself refuses, with its reasons.
    let refusal = if push.method != "POST" {
        Some((405, "MethodNotAllowed"))
    } else if token.is_empty() || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some((404, "BadPath"))
    } else if push.topic.as_deref() != Some(topic.as_str()) {
        Some((400, "BadTopic"))
    } else if push.body != b"{}" {
        Some((400, "PayloadEmpty"))
    } else {
        None
    };
    // Held: counted as holding until released (polled, so the runtime's one thread
    // keeps serving the other streams meanwhile).
    let held = {
        let mut state = shared.state.lock().unwrap();
        if state.held {
            state.holding += 1;
            shared.changed.notify_all();
        }
        state.held
    };
    if held {
        loop {
            {
                let mut state = shared.state.lock().unwrap();
                if !state.held {
                    state.holding -= 1;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (status, reason) = {
        let mut state = shared.state.lock().unwrap();
        let answer = match refusal {
            Some((s, r)) => (s, r.to_string()),
            None => state
                .by_token
                .get(&token)
                .cloned()
                .or_else(|| state.next.pop_front())
                .unwrap_or((200, String::new())),
        };
        push.status = answer.0;
        state.pushes.push(push);
        shared.changed.notify_all();
        answer
    };
    let response = http::Response::builder()
        .status(status)
        .header("apns-id", "00000000-0000-0000-0000-000000000000")
        .body(())
        .expect("a response");
    if status == 200 {
        let _ = respond.send_response(response, true);
    } else if let Ok(mut stream) = respond.send_response(response, false) {
        let body = json!({ "reason": reason }).to_string();
        let _ = stream.send_data(Bytes::from(body), true);
    }
}

// ---------------------------------------------------------------------------------
// Google
// ---------------------------------------------------------------------------------

/// The service account's e-mail and the issuer id of the stand-in's Google.
pub const GOOGLE_CLIENT_EMAIL: &str = "stampd-wallet@example-project.iam.gserviceaccount.com";
pub const GOOGLE_ISSUER_ID: &str = "3388000000012345678";

/// A service-account JSON key file in `dir` (a fresh RSA key): the settings naming it,
/// and the key's public half (PEM).
pub fn google_service_account(dir: &Path) -> (stampd::config::GoogleSettings, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
    let private = key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM");
    let file = dir.join("google-service-account.json");
    std::fs::write(
        &file,
        json!({
            "type": "service_account",
            "project_id": "example-project",
            "private_key_id": "0123abcd",
            "private_key": private,
            "client_email": GOOGLE_CLIENT_EMAIL,
        })
        .to_string(),
    )
    .expect("write the key file");
    (
        stampd::config::GoogleSettings {
            issuer_id: GOOGLE_ISSUER_ID.into(),
            service_account_key: file,
        },
        public,
    )
}

/// One call to the stand-in's Wallet API.
#[derive(Debug, Clone)]
pub struct GoogleCall {
    pub method: String,
    /// The path below the API's base: `loyaltyObject/<id>`, `loyaltyClass`, ...
    pub path: String,
    pub body: Value,
    pub status: u16,
}

#[derive(Default)]
struct GoogleState {
    /// Access tokens handed out.
    tokens: HashSet<String>,
    /// Token requests, and those refused.
    token_requests: usize,
    refused_assertions: Vec<String>,
    classes: HashMap<String, Value>,
    objects: HashMap<String, Value>,
    calls: Vec<GoogleCall>,
    /// Statuses for the next API calls, in order.
    next: VecDeque<u16>,
}

struct GoogleShared {
    state: Mutex<GoogleState>,
    changed: Condvar,
    /// The service account's public key, and the token URL its assertions are for.
    key: rsa::pkcs1v15::VerifyingKey<sha2::Sha256>,
    token_url: String,
}

/// Google's token endpoint and Wallet API, played on 127.0.0.1 (see the module's notes).
pub struct GoogleStandIn {
    /// stampd's `google_token_url` and `google_api_url`.
    pub token_url: String,
    pub api_url: String,
    shared: Arc<GoogleShared>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GoogleStandIn {
    /// Starts the stand-in; it trusts assertions signed with `public_key_pem`.
    pub fn start(public_key_pem: &str) -> GoogleStandIn {
        use rsa::pkcs8::DecodePublicKey;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let key = rsa::RsaPublicKey::from_public_key_pem(public_key_pem).expect("a public key");
        let shared = Arc::new(GoogleShared {
            state: Mutex::new(GoogleState::default()),
            changed: Condvar::new(),
            key: rsa::pkcs1v15::VerifyingKey::new(key),
            token_url: format!("{base}/token"),
        });
        let serving = shared.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                use actix_web::{web, App, HttpServer};
                let data = web::Data::new(serving);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(1 << 20))
                        .route("/token", web::post().to(google_token))
                        .route("/walletobjects/v1/{rest:.*}", web::route().to(google_api))
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run();
                tx.send(server.handle()).expect("the test waits");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("the stand-in started");
        GoogleStandIn {
            token_url: format!("{base}/token"),
            api_url: format!("{base}/walletobjects/v1"),
            shared,
            handle,
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut GoogleState) -> T) -> T {
        let mut state = self.shared.state.lock().unwrap();
        let out = f(&mut state);
        self.shared.changed.notify_all();
        out
    }

    /// Every API call so far, in order.
    pub fn calls(&self) -> Vec<GoogleCall> {
        self.with(|s| s.calls.clone())
    }

    /// How many token requests came, and the reasons of those refused.
    pub fn token_requests(&self) -> (usize, Vec<String>) {
        self.with(|s| (s.token_requests, s.refused_assertions.clone()))
    }

    /// The object with this id as the stand-in holds it.
    pub fn object(&self, id: &str) -> Option<Value> {
        self.with(|s| s.objects.get(id).cloned())
    }

    pub fn class(&self, id: &str) -> Option<Value> {
        self.with(|s| s.classes.get(id).cloned())
    }

    /// Forgets an object, so the next patch of it is answered 404.
    pub fn forget_object(&self, id: &str) {
        self.with(|s| s.objects.remove(id));
    }

    /// Answers the next API calls with these statuses.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.with(|s| s.next.extend(statuses));
    }

    /// Waits until a call makes `done` true of the calls so far; panics after `within`.
    pub fn wait_until(
        &self,
        within: Duration,
        mut done: impl FnMut(&[GoogleCall]) -> bool,
    ) -> Vec<GoogleCall> {
        let deadline = Instant::now() + within;
        let mut state = self.shared.state.lock().unwrap();
        while !done(&state.calls) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "not within {within:?}: {:#?}", state.calls);
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
        state.calls.clone()
    }
}

impl Drop for GoogleStandIn {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Why an assertion is refused, if it is.
fn check_assertion(shared: &GoogleShared, assertion: &str) -> Result<(), String> {
    use rsa::signature::Verifier;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("not a JWT".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let signature = rsa::pkcs1v15::Signature::try_from(decode(signature)?.as_slice())
        .map_err(|e| e.to_string())?;
    shared
        .key
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .map_err(|_| "the signature does not verify".to_string())?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let iat = claims["iat"].as_i64().unwrap_or(0);
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if claims["iss"] != GOOGLE_CLIENT_EMAIL {
        Err(format!("iss {}", claims["iss"]))
    } else if claims["scope"] != "https://www.googleapis.com/auth/wallet_object.issuer" {
        Err(format!("scope {}", claims["scope"]))
    } else if claims["aud"] != shared.token_url.as_str() {
        Err(format!("aud {}", claims["aud"]))
    } else if (iat - now).abs() > 300 || exp <= now || exp - iat > 3600 {
        Err(format!("iat {iat}, exp {exp}, now {now}"))
    } else {
        Ok(())
    }
}

async fn google_token(
    shared: actix_web::web::Data<Arc<GoogleShared>>,
    form: actix_web::web::Form<HashMap<String, String>>,
) -> actix_web::HttpResponse {
    let grant = form.get("grant_type").map(String::as_str);
    let checked = match grant {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            check_assertion(&shared, form.get("assertion").map_or("", String::as_str))
        }
        other => Err(format!("grant_type {other:?}")),
    };
    let mut state = shared.state.lock().unwrap();
    state.token_requests += 1;
    shared.changed.notify_all();
    match checked {
        Ok(()) => {
            let token = format!("ya29.stand-in-{}", state.token_requests);
            state.tokens.insert(token.clone());
            actix_web::HttpResponse::Ok().json(json!({
                "access_token": token, "expires_in": 3599, "token_type": "Bearer",
            }))
        }
        Err(why) => {
            state.refused_assertions.push(why.clone());
            actix_web::HttpResponse::BadRequest()
                .json(json!({"error": "invalid_grant", "error_description": why}))
        }
    }
}

async fn google_api(
    shared: actix_web::web::Data<Arc<GoogleShared>>,
    req: actix_web::HttpRequest,
    path: actix_web::web::Path<String>,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    let method = req.method().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    let path = path.into_inner();
    let mut state = shared.state.lock().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    let (status, answer) = if !state.tokens.contains(&token) {
        (
            401,
            json!({"error": {"code": 401, "message": "invalid credentials"}}),
        )
    } else if let Some(status) = state.next.pop_front() {
        (
            status,
            json!({"error": {"code": status, "message": "as the test asked"}}),
        )
    } else {
        let id = body["id"].as_str().unwrap_or_default().to_string();
        match (method.as_str(), &segments[..]) {
            ("PATCH", ["loyaltyObject", id]) => patch(&mut state.objects, id, &body),
            ("PATCH", ["loyaltyClass", id]) => patch(&mut state.classes, id, &body),
            ("POST", ["loyaltyClass"]) => insert(&mut state.classes, &id, &body),
            ("POST", ["loyaltyObject"]) => {
                let class = body["classId"].as_str().unwrap_or_default();
                if state.classes.contains_key(class) {
                    insert(&mut state.objects, &id, &body)
                } else {
                    (
                        404,
                        json!({"error": {"code": 404, "message": "class not found"}}),
                    )
                }
            }
            ("POST", ["loyaltyObject", id, "addMessage"]) => match state.objects.get_mut(*id) {
                Some(object) => {
                    let messages = object
                        .as_object_mut()
                        .expect("an object")
                        .entry("messages")
                        .or_insert(json!([]));
                    messages
                        .as_array_mut()
                        .expect("messages")
                        .push(body["message"].clone());
                    (200, json!({"resource": object.clone()}))
                }
                None => (404, json!({"error": {"code": 404, "message": "not found"}})),
            },
            _ => (
                400,
                json!({"error": {"code": 400, "message": "no such call"}}),
            ),
        }
    };
    state.calls.push(GoogleCall {
        method,
        path,
        body,
        status,
    });
    shared.changed.notify_all();
    actix_web::HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a status"))
        .json(answer)
}

fn patch(held: &mut HashMap<String, Value>, id: &str, body: &Value) -> (u16, Value) {
    match held.get_mut(id) {
        Some(v) => {
            for (k, value) in body.as_object().into_iter().flatten() {
                v[k] = value.clone();
            }
            (200, v.clone())
        }
        None => (404, json!({"error": {"code": 404, "message": "not found"}})),
    }
}

fn insert(held: &mut HashMap<String, Value>, id: &str, body: &Value) -> (u16, Value) {
    if held.contains_key(id) {
        return (
            409,
            json!({"error": {"code": 409, "message": "already exists"}}),
        );
    }
    held.insert(id.to_string(), body.clone());
    (200, body.clone())
}
