//! One delivery over HTTP: `POST target_url` with the event's body and the Standard
//! Webhooks headers, 10 seconds at most, no redirects followed, at most a few KiB of
//! the answer read. Each subscription has its own client (its connections are reused
//! between deliveries); every connection it opens asks the resolver of
//! [`super::target`] first, so a name that now points inside the shop's network is
//! refused before anything is sent.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::dns::Resolver;
use super::signature;
use super::target::{self, Refusal, Target};

/// The longest a delivery takes.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is read (kept for the error, or drained so the connection is
/// reused).
const READ_AT_MOST: u64 = 64 * 1024;
/// How much of a failed answer's body goes into the error.
const ERROR_SNIPPET: usize = 200;

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Option<u16>,
    /// `None` when a 2xx came back.
    pub error: Option<String>,
    /// The target resolved to a non-public address: the subscription is to be disabled.
    pub blocked: bool,
    pub duration_ms: i64,
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// What one delivery sends.
pub struct Request<'a> {
    pub subscription_id: i64,
    pub target_url: &'a str,
    pub secrets: &'a [String],
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub body: &'a [u8],
}

/// The HTTP clients of the subscriptions, with the rules every delivery follows.
#[derive(Clone)]
pub struct Sender {
    resolver: Resolver,
    allow_private: bool,
    tls: Arc<rustls::ClientConfig>,
    /// Per subscription: its URL and its client.
    agents: Arc<Mutex<HashMap<i64, (String, ureq::Agent)>>>,
    /// Idle connections kept per subscription.
    keep: usize,
}

impl Sender {
    pub fn new(
        resolver: Resolver,
        allow_private: bool,
        extra_ca_file: Option<&Path>,
        keep: usize,
    ) -> Result<Sender, String> {
        Ok(Sender {
            resolver,
            allow_private,
            tls: crate::outbox::tls::client_config(extra_ca_file, None, &[])?,
            agents: Default::default(),
            keep,
        })
    }

    /// Whether private targets (and plain http) are allowed.
    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// Checks a target URL as a subscription is saved: its shape, and the addresses its
    /// host resolves to now. A name that does not resolve (yet) is accepted: it is
    /// checked again on every delivery.
    pub fn check_target(&self, url: &str) -> Result<(), String> {
        let t = target::parse(url, self.allow_private)?;
        match target::resolve(&t, &self.resolver, self.allow_private) {
            Err(Refusal::Private(_)) => {
                Err("must not point to a private, loopback or link-local address".into())
            }
            _ => Ok(()),
        }
    }

    fn agent(&self, subscription_id: i64, url: &str, t: &Target) -> ureq::Agent {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((u, a)) = agents.get(&subscription_id) {
            if u == url {
                return a.clone();
            }
        }
        let guard = Guard {
            target: t.clone(),
            resolver: self.resolver,
            allow_private: self.allow_private,
        };
        let agent = ureq::AgentBuilder::new()
            .tls_config(self.tls.clone())
            .resolver(guard)
            .redirects(0)
            .timeout(TIMEOUT)
            .max_idle_connections_per_host(self.keep)
            .max_idle_connections(self.keep)
            .user_agent(concat!("stampd/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
            .build();
        agents.insert(subscription_id, (url.to_string(), agent.clone()));
        agent
    }

    /// Forgets a subscription's client (its connections close).
    pub fn forget(&self, subscription_id: i64) {
        self.agents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&subscription_id);
    }

    /// Delivers one event now; `timestamp` is the attempt's unix time.
    pub fn send(&self, r: &Request, timestamp: i64) -> Outcome {
        let started = Instant::now();
        let done = |status: Option<u16>, error: Option<String>, blocked: bool| Outcome {
            status,
            error,
            blocked,
            duration_ms: started.elapsed().as_millis().min(i64::MAX as u128) as i64,
        };
        let t = match target::parse(r.target_url, self.allow_private) {
            Ok(t) => t,
            Err(e) => return done(None, Some(format!("target_url {e}")), true),
        };
        let agent = self.agent(r.subscription_id, r.target_url, &t);
        let signature = signature::header(r.secrets, r.event_id, timestamp, r.body);
        let answer = agent
            .post(r.target_url)
            .set("Content-Type", "application/json")
            .set("webhook-id", r.event_id)
            .set("webhook-timestamp", &timestamp.to_string())
            .set("webhook-signature", &signature)
            .set("webhook-event", r.event_type)
            .send_bytes(r.body);
        match answer {
            Ok(resp) => {
                let status = resp.status();
                let body = read_some(resp);
                if (200..300).contains(&status) {
                    done(Some(status), None, false)
                } else {
                    let what = if (300..400).contains(&status) {
                        "redirects are not followed".to_string()
                    } else {
                        snippet(&body)
                    };
                    done(
                        Some(status),
                        Some(format!("answered {status}: {what}")),
                        false,
                    )
                }
            }
            Err(ureq::Error::Status(status, resp)) => {
                let body = read_some(resp);
                done(
                    Some(status),
                    Some(format!("answered {status}: {}", snippet(&body))),
                    false,
                )
            }
            Err(ureq::Error::Transport(e)) => match refusal(&e) {
                Some(refusal @ Refusal::Private(_)) => {
                    done(None, Some(format!("{} {refusal}", t.host)), true)
                }
                Some(refusal) => done(None, Some(refusal.to_string()), false),
                None => done(None, Some(transport_error(&e)), false),
            },
        }
    }
}

/// Reads at most [`READ_AT_MOST`] of an answer.
fn read_some(resp: ureq::Response) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = resp.into_reader().take(READ_AT_MOST).read_to_end(&mut body);
    body
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(ERROR_SNIPPET).collect();
    if text.trim().is_empty() {
        "(no body)".into()
    } else {
        text.trim().to_string()
    }
}

fn transport_error(e: &ureq::Transport) -> String {
    let mut out = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        let s = source.to_string();
        if !out.contains(&s) {
            out = format!("{out}: {s}");
        }
    }
    out
}

/// The guard's refusal behind a transport error, if that is what it was.
fn refusal(e: &ureq::Transport) -> Option<Refusal> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(r) = io.get_ref().and_then(|r| r.downcast_ref::<Refusal>()) {
                return Some(r.clone());
            }
        }
        if let Some(r) = s.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

/// The resolver of a subscription's client: the addresses a connection may use are
/// those of the guard, checked each time one is opened.
struct Guard {
    target: Target,
    resolver: Resolver,
    allow_private: bool,
}

impl ureq::Resolver for Guard {
    fn resolve(&self, netloc: &str) -> std::io::Result<Vec<std::net::SocketAddr>> {
        // ureq asks for the URL's own host and port; nothing else is reachable.
        let (host, port) = netloc
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| std::io::Error::other("a bad address"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host != self.target.host || port != self.target.port {
            return Err(std::io::Error::other(Refusal::Unresolved(format!(
                "{netloc} is not the target"
            ))));
        }
        target::resolve(&self.target, &self.resolver, self.allow_private)
            .map_err(std::io::Error::other)
    }
}
