//! The webhook channel of the outbox. Its rows are events for one subscription each
//! (`crate::db::webhooks`); what they need differs from a card-link mail's, so the
//! channel has a sender of its own beside the generic one:
//!
//! - first tries go out in commit order per customer (and so per customer card) and
//!   subscription: a dispatcher thread hands each worker the oldest due event of a line
//!   no worker holds, and the next of that line only once it is recorded; retries may
//!   overtake;
//! - at most `webhook_concurrency` deliveries are in flight, and at most
//!   `webhook_concurrency_per_subscription` to one subscription, so a slow receiver
//!   holds up only its own events (and never a request: nothing here runs on a request
//!   or the writer);
//! - failed events are retried on the contract's schedule ([`retry_wait`]); a 410, a
//!   schedule run out, or a target that now resolves to a private address disables the
//!   subscription, which drops what is still queued for it;
//! - each try is recorded (the delivery list, the subscription's last delivery); the
//!   tries that end together are recorded in one write.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender as Tx};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::{at, Outbox, IDLE};
use crate::config::Settings;
use crate::db::webhooks::deliveries::{self, DueEvent, Next, Try};
use crate::db::webhooks::{BLOCKED_ADDRESS, FAILING};
use crate::db::Db;
use crate::time_fmt;
use crate::webhooks::dns::Resolver;
use crate::webhooks::send::{Outcome, Request, Sender};

/// The waits of the retry schedule in units of `webhook_retry_base_secs` (at 5: 5 s,
/// 5 min, 30 min, 2 h, 5 h, then 10 h), and the most they add up to (3 days at 5).
const STEPS: [f64; 6] = [1.0, 60.0, 360.0, 1440.0, 3600.0, 7200.0];
const SCHEDULE_LIMIT: f64 = 51_840.0;

/// The wait after an event's `failed`-th failed try, or `None` when the schedule has
/// run out (the subscription is then disabled as failing). A random extra of up to a
/// tenth spreads retries of events that failed together.
pub fn retry_wait(failed: u32, base_secs: f64, unit: f64) -> Option<Duration> {
    let step = |i: u32| STEPS[(i as usize).min(STEPS.len() - 1)];
    if failed == 0 {
        return Some(Duration::ZERO);
    }
    let total: f64 = (0..failed).map(step).sum();
    if total > SCHEDULE_LIMIT {
        return None;
    }
    let wait = step(failed - 1) * base_secs * (1.0 + unit.clamp(0.0, 1.0) / 10.0);
    Some(Duration::from_secs_f64(wait))
}

/// What the dispatcher hears.
enum Msg {
    /// Events may be queued.
    Wake,
    Stop,
    Done(Box<Finished>),
}

/// A delivery a worker made.
struct Finished {
    due: DueEvent,
    event_id: String,
    event_type: String,
    outcome: Outcome,
    at: String,
}

/// Starts the channel: a dispatcher, its workers, and the thread that passes the
/// outbox's bell on to it. The writer rings it after each commit that queued events.
pub fn start(
    outbox: &Outbox,
    db: &Db,
    settings: &Settings,
    public_url: &str,
) -> Vec<JoinHandle<()>> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let woken = Mutex::new(tx.clone());
    db.set_webhook_hooks(public_url, move || {
        let _ = woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Msg::Wake);
    });
    let sender = match Sender::new(
        Resolver::new(settings.webhook_dns_server),
        settings.webhooks_allow_private_targets,
        settings.extra_ca_file.as_deref(),
        settings.webhook_concurrency_per_subscription,
    ) {
        Ok(s) => s,
        Err(e) => {
            log::error!("outbox: webhooks cannot be sent: {e}");
            return Vec::new();
        }
    };
    let (jobs_tx, jobs_rx) = mpsc::channel::<DueEvent>();
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let mut threads = Vec::new();
    for n in 0..settings.webhook_concurrency {
        let (jobs, done, sender) = (jobs_rx.clone(), tx.clone(), sender.clone());
        threads.push(spawn(&format!("webhook-{n}"), move || {
            work(&jobs, &done, &sender)
        }));
    }
    let bell = outbox.clone();
    let to_dispatcher = tx.clone();
    threads.push(spawn("webhook-bell", move || loop {
        let heard = bell.heard(crate::db::webhooks::CHANNEL);
        if !bell.wait(crate::db::webhooks::CHANNEL, heard, IDLE) {
            let _ = to_dispatcher.send(Msg::Stop);
            return;
        }
        if to_dispatcher.send(Msg::Wake).is_err() {
            return;
        }
    }));
    let dispatcher = Dispatcher {
        db: db.clone(),
        jobs: jobs_tx,
        sender,
        total: settings.webhook_concurrency,
        per_subscription: settings.webhook_concurrency_per_subscription,
        base_secs: settings.webhook_retry_base_secs,
        in_flight: HashSet::new(),
        lines: HashSet::new(),
        by_subscription: HashMap::new(),
    };
    drop(tx);
    threads.push(spawn("outbox-webhook", move || dispatcher.run(&rx)));
    threads
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .expect("can start a webhook thread")
}

/// A worker: delivers what the dispatcher hands it until it hands nothing more.
fn work(jobs: &Mutex<Receiver<DueEvent>>, done: &Tx<Msg>, sender: &Sender) {
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(due) = job else {
            return;
        };
        let finished = deliver(sender, due);
        if done.send(Msg::Done(Box::new(finished))).is_err() {
            return;
        }
    }
}

/// The body a subscription receives for a recorded event: the envelope, or `data`
/// alone for `flat`; and the event's id and type.
pub fn body(payload: &str, format: &str) -> (String, String, Vec<u8>) {
    let event: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let id = event["id"].as_str().unwrap_or_default().to_string();
    let kind = event["type"].as_str().unwrap_or_default().to_string();
    let body = if format == "flat" {
        event["data"].clone()
    } else {
        serde_json::json!({
            "type": event["type"],
            "timestamp": event["timestamp"],
            "data": event["data"],
        })
    };
    (id, kind, body.to_string().into_bytes())
}

fn deliver(sender: &Sender, due: DueEvent) -> Finished {
    let (event_id, event_type, body) = body(&due.payload, &due.payload_format);
    let at = time_fmt::now();
    let outcome = sender.send(
        &Request {
            subscription_id: due.subscription_id,
            target_url: &due.target_url,
            secrets: &due.secrets,
            event_id: &event_id,
            event_type: &event_type,
            body: &body,
        },
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    Finished {
        due,
        event_id,
        event_type,
        outcome,
        at,
    }
}

struct Dispatcher {
    db: Db,
    jobs: Tx<DueEvent>,
    sender: Sender,
    total: usize,
    per_subscription: usize,
    base_secs: f64,
    /// Outbox rows handed to a worker and not yet recorded.
    in_flight: HashSet<i64>,
    /// The lines (subscription, customer) those rows are in.
    lines: HashSet<(i64, i64)>,
    by_subscription: HashMap<i64, usize>,
}

fn line(d: &DueEvent) -> (i64, i64) {
    (d.subscription_id, d.customer_id.unwrap_or(-d.id))
}

impl Dispatcher {
    fn run(mut self, messages: &Receiver<Msg>) {
        let mut stopping = false;
        loop {
            if !stopping {
                self.dispatch();
            }
            if stopping && self.in_flight.is_empty() {
                return;
            }
            let wait = if stopping {
                crate::webhooks::send::TIMEOUT * 2
            } else {
                self.next_wait()
            };
            let first = match messages.recv_timeout(wait) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) if stopping => return,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut finished = Vec::new();
            let mut take = |m: Msg, stopping: &mut bool| match m {
                Msg::Wake => {}
                Msg::Stop => *stopping = true,
                Msg::Done(f) => finished.push(*f),
            };
            take(first, &mut stopping);
            while let Ok(m) = messages.try_recv() {
                take(m, &mut stopping);
            }
            if !finished.is_empty() {
                self.record(finished);
            }
        }
    }

    /// Hands due events to the workers, as far as the caps allow.
    fn dispatch(&mut self) {
        if self.in_flight.len() >= self.total {
            return;
        }
        let busy: Vec<i64> = self
            .by_subscription
            .iter()
            .filter(|(_, n)| **n >= self.per_subscription)
            .map(|(s, _)| *s)
            .collect();
        let limit = (self.total * 4) as i64;
        let due = match self.db.read(|c| Ok(deliveries::due(c, &busy, limit)?)) {
            Ok(d) => d,
            Err(e) => {
                log::warn!(
                    "outbox: cannot read due webhook events: {}",
                    crate::error::Chain(&e)
                );
                return;
            }
        };
        for d in due {
            if self.in_flight.len() >= self.total {
                break;
            }
            let l = line(&d);
            let n = self
                .by_subscription
                .get(&d.subscription_id)
                .copied()
                .unwrap_or(0);
            if self.in_flight.contains(&d.id)
                || self.lines.contains(&l)
                || n >= self.per_subscription
            {
                continue;
            }
            self.in_flight.insert(d.id);
            self.lines.insert(l);
            *self.by_subscription.entry(d.subscription_id).or_default() += 1;
            if self.jobs.send(d).is_err() {
                return;
            }
        }
    }

    /// How long to wait for news: until the next retry is due (at most [`IDLE`]).
    fn next_wait(&self) -> Duration {
        let now = time_fmt::now();
        let next = self.db.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT min(next_attempt_at) FROM outbox
                 WHERE channel = ?1 AND status = 'pending' AND next_attempt_at > ?2",
            )?
            .query_row(rusqlite::params![crate::db::webhooks::CHANNEL, now], |r| {
                r.get::<_, Option<String>>(0)
            })?)
        });
        match next {
            Ok(Some(at)) => time_fmt::parse_timestamp(&at)
                .map(|t| (t - time::OffsetDateTime::now_utc()).max(time::Duration::ZERO))
                .map(|d| Duration::from_millis(d.whole_milliseconds() as u64 + 2).min(IDLE))
                .unwrap_or(IDLE),
            _ => IDLE,
        }
    }

    /// Records finished deliveries in one write and frees their lines.
    fn record(&mut self, finished: Vec<Finished>) {
        let tries: Vec<Try> = finished
            .iter()
            .map(|f| {
                let failed = u32::try_from(f.due.attempts + 1).unwrap_or(u32::MAX);
                let o = &f.outcome;
                let next = if o.delivered() {
                    Next::Done
                } else if o.blocked {
                    Next::Disable(BLOCKED_ADDRESS)
                } else if o.status == Some(410) {
                    Next::Disable(FAILING)
                } else {
                    match retry_wait(failed, self.base_secs, rand::random::<f64>()) {
                        Some(wait) => Next::RetryAt(at(wait)),
                        None => Next::Disable(FAILING),
                    }
                };
                if let Some(error) = &o.error {
                    log::info!(
                        "outbox: webhook {} to subscription {} failed (try {failed}): {error}",
                        f.event_id,
                        f.due.subscription_id
                    );
                }
                if let Next::Disable(reason) = next {
                    log::warn!(
                        "outbox: webhook subscription {} disabled ({reason})",
                        f.due.subscription_id
                    );
                    self.sender.forget(f.due.subscription_id);
                }
                Try {
                    subscription_id: f.due.subscription_id,
                    outbox_id: Some(f.due.id),
                    event_id: f.event_id.clone(),
                    event_type: f.event_type.clone(),
                    attempt: f.due.attempts + 1,
                    status: o.status,
                    error: o.error.clone(),
                    duration_ms: o.duration_ms,
                    at: f.at.clone(),
                    next,
                }
            })
            .collect();
        if let Err(e) = self.db.write(move |tx| Ok(deliveries::record(tx, &tries)?)) {
            log::error!(
                "outbox: cannot record webhook tries: {}",
                crate::error::Chain(&e)
            );
        }
        for f in &finished {
            self.in_flight.remove(&f.due.id);
            self.lines.remove(&line(&f.due));
            if let Some(n) = self.by_subscription.get_mut(&f.due.subscription_id) {
                *n -= 1;
                if *n == 0 {
                    self.by_subscription.remove(&f.due.subscription_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At the default base: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h while the waits stay
    /// within 3 days; a base of 1 scales all of it, the limit included.
    #[test]
    fn the_schedule_is_the_contracts() {
        let secs = |n| retry_wait(n, 5.0, 0.0).map(|d| d.as_secs());
        assert_eq!(
            (1..=6).map(secs).collect::<Vec<_>>(),
            [5, 300, 1800, 7200, 18_000, 36_000].map(Some)
        );
        let tries = (1..100)
            .take_while(|n| retry_wait(*n, 5.0, 0.0).is_some())
            .count();
        let total: u64 = (1..=tries as u32).map(|n| secs(n).unwrap()).sum();
        assert!(
            total <= 3 * 86_400 && total + 36_000 > 3 * 86_400,
            "{tries} retries, {total} s"
        );
        assert_eq!(tries, 11);
        let scaled = (1..100)
            .take_while(|n| retry_wait(*n, 0.001, 0.0).is_some())
            .count();
        assert_eq!(scaled, tries, "the limit scales too");
        let w = retry_wait(1, 5.0, 1.0).unwrap();
        assert!(w > Duration::from_secs(5) && w <= Duration::from_millis(5_500));
    }

    #[test]
    fn bodies_are_the_envelope_or_the_data_alone() {
        let payload = r#"{"id":"evt_1","type":"stamp.earned","timestamp":"2026-01-01T00:00:00.000Z","data":{"stamps":1}}"#;
        let (id, kind, env) = body(payload, "envelope");
        assert_eq!((id.as_str(), kind.as_str()), ("evt_1", "stamp.earned"));
        assert_eq!(
            String::from_utf8(env).unwrap(),
            r#"{"type":"stamp.earned","timestamp":"2026-01-01T00:00:00.000Z","data":{"stamps":1}}"#
        );
        let (_, _, flat) = body(payload, "flat");
        assert_eq!(String::from_utf8(flat).unwrap(), r#"{"stamps":1}"#);
    }
}
