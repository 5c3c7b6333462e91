//! The senders of the outbox: one thread per channel takes that channel's due rows from
//! the outbox table (`crate::db::outbox`), sends each, and records the try. A failed
//! try is retried after a doubling wait with a random extra (see [`Backoff`]); after the
//! last one the row stays, marked failed, with its error. A channel without settings
//! leaves its rows pending with the reason "not configured", to go out once it is set
//! up. Threads of their own keep one channel's slow server from holding up another's
//! messages.
//!
//! A channel is a [`Channel`]: its name in the table, whether it has settings, and how
//! to send one row. Today: card links by mail ([`email`]) and by text ([`sms`]).

pub mod email;
pub mod sms;
pub mod tls;
pub mod webhooks;

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::Settings;
use crate::db::outbox::{self as table, Due};
use crate::db::Db;
use crate::time_fmt;

/// How many due rows one round takes.
const BATCH: i64 = 20;
/// The longest a sender sleeps without looking at the table.
const IDLE: Duration = Duration::from_secs(30);
/// Network timeout of one try.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// One way out: mail, text, later wallet pushes and webhooks.
pub trait Channel: Send {
    /// The channel's name in the outbox table.
    fn name(&self) -> &'static str;
    /// Whether its settings are given; without them its rows wait.
    fn configured(&self) -> bool;
    /// Sends one row.
    fn send(&self, due: &Due) -> Result<(), SendError>;
}

/// Why a try failed, and whether another try could succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    pub retry: bool,
}

impl SendError {
    /// A failure a later try may not meet: a server down, busy or refusing for now, or
    /// settings that a restart may fix.
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: true,
        }
    }

    /// A failure of the row itself that no later try can mend (an address that does
    /// not parse): it is kept as failed at once.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: false,
        }
    }
}

/// When a failed row is tried again.
///
/// After `n` failed tries the wait is the doubling step `base · 2^(n-1)` plus a
/// uniformly random extra of up to half the step, so between `step` and `1.5 · step`
/// (additive jitter). The step is a floor, as `delivery_retry_base_secs` documents
/// ("the wait before the first retry; it doubles with each further try"); the extra
/// spreads the retries of rows that failed together (a mail server down for a minute)
/// instead of sending them all back at the same instant. Full or equal jitter would
/// break that floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries before a row is kept as failed.
    pub max_attempts: u32,
    /// The step before the first retry.
    pub base: Duration,
}

impl Backoff {
    /// The card-link channels' schedule, from `delivery_max_attempts` and
    /// `delivery_retry_base_secs`.
    pub fn from_settings(settings: &Settings) -> Backoff {
        Backoff {
            max_attempts: settings.delivery_max_attempts,
            base: Duration::from_secs(settings.delivery_retry_base_secs),
        }
    }

    /// The doubling step after `tries` failed tries: base, 2·base, 4·base, ... (the
    /// doubling stops after 20 steps).
    pub fn step(&self, tries: u32) -> Duration {
        self.base
            .saturating_mul(1 << tries.saturating_sub(1).min(20))
    }

    /// The wait after `tries` failed tries, or `None` when that was the last try.
    /// `unit` (from `[0, 1)`) picks the extra: 0 waits the step, near 1 half as long again.
    pub fn wait(&self, tries: u32, unit: f64) -> Option<Duration> {
        if tries >= self.max_attempts {
            return None;
        }
        let step = self.step(tries);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Some(step.saturating_add((step / 2).mul_f64(unit)))
    }

    /// [`Backoff::wait`] with a random extra.
    fn random_wait(&self, tries: u32) -> Option<Duration> {
        self.wait(tries, rand::random::<f64>())
    }
}

/// The bell request handlers ring when rows are queued, and the server rings to stop
/// the senders. Every sender hears every ring; one that was busy when it rang goes
/// round again at once instead of missing it.
#[derive(Clone, Default)]
pub struct Outbox {
    bell: Arc<Bell>,
}

#[derive(Default)]
struct Bell {
    state: Mutex<Rings>,
    rung: Condvar,
}

#[derive(Default, Clone, Copy)]
struct Rings {
    count: u64,
    stopped: bool,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Says rows are queued.
    pub fn wake(&self) {
        self.ring(|r| r.count = r.count.wrapping_add(1));
    }

    /// Stops the senders after the row each is sending now.
    pub fn stop(&self) {
        self.ring(|r| r.stopped = true);
    }

    fn ring(&self, f: impl FnOnce(&mut Rings)) {
        let mut rings = self.bell.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rings);
        self.bell.rung.notify_all();
    }

    fn rings(&self) -> Rings {
        *self.bell.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.rings().stopped
    }

    /// Waits up to `timeout` for a ring after `heard`; false once stopped.
    fn wait(&self, heard: u64, timeout: Duration) -> bool {
        let rings = self.bell.state.lock().unwrap_or_else(|e| e.into_inner());
        let (rings, _) = self
            .bell
            .rung
            .wait_timeout_while(rings, timeout, |r| !r.stopped && r.count == heard)
            .unwrap_or_else(|e| e.into_inner());
        !rings.stopped
    }
}

/// The running senders.
pub struct Senders(Vec<JoinHandle<()>>);

impl Senders {
    /// Waits for every sender to finish (after [`Outbox::stop`]).
    pub fn join(self) {
        for sender in self.0 {
            if sender.join().is_err() {
                log::error!("outbox: a sender stopped with a panic");
            }
        }
    }
}

/// Starts a sender for each channel: card links by mail and by text, and webhooks
/// (a sender of their own, see [`webhooks`]).
pub fn spawn(outbox: &Outbox, db: &Db, settings: &Settings, public_url: &str) -> Senders {
    let card_links = Backoff::from_settings(settings);
    let channels: Vec<Box<dyn Channel>> = vec![
        Box::new(email::Email::new(settings.smtp.as_ref(), public_url)),
        Box::new(sms::Sms::new(settings.sms.clone(), public_url)),
    ];
    let mut senders: Vec<JoinHandle<()>> = channels
        .into_iter()
        .map(|channel| start(channel, outbox.clone(), db.clone(), card_links))
        .collect();
    senders.extend(webhooks::start(outbox, db, settings, public_url));
    Senders(senders)
}

/// Starts one channel's sender on a thread of its own.
pub fn start(
    channel: Box<dyn Channel>,
    outbox: Outbox,
    db: Db,
    backoff: Backoff,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("outbox-{}", channel.name()))
        .spawn(move || run(channel.as_ref(), &outbox, &db, backoff))
        .expect("can start an outbox sender thread")
}

fn run(channel: &dyn Channel, outbox: &Outbox, db: &Db, backoff: Backoff) {
    let name = channel.name();
    loop {
        let heard = outbox.rings().count;
        let wait = if channel.configured() {
            match send_due(channel, outbox, db, backoff) {
                Round::Stopped => return,
                Round::Full => continue,
                Round::Done => next_wait(db, name),
            }
        } else {
            if let Err(e) = db.write(move |tx| Ok(table::mark_unconfigured(tx, name)?)) {
                log::warn!("outbox: {name}: {}", crate::error::Chain(&e));
            }
            IDLE
        };
        if !outbox.wait(heard, wait) {
            return;
        }
    }
}

enum Round {
    /// Fewer rows were due than a round takes.
    Done,
    /// A whole batch was due: more may be.
    Full,
    Stopped,
}

/// Sends the channel's due rows, one by one, recording each try.
fn send_due(channel: &dyn Channel, outbox: &Outbox, db: &Db, backoff: Backoff) -> Round {
    let name = channel.name();
    let due = match db.read(|c| Ok(table::due(c, name, BATCH)?)) {
        Ok(d) => d,
        Err(e) => {
            log::warn!(
                "outbox: cannot read due {name} rows: {}",
                crate::error::Chain(&e)
            );
            return Round::Done;
        }
    };
    for d in &due {
        if outbox.stopped() {
            return Round::Stopped;
        }
        record(db, backoff, d, channel.send(d));
    }
    if due.len() as i64 == BATCH {
        Round::Full
    } else {
        Round::Done
    }
}

/// Records one try of `d`.
fn record(db: &Db, backoff: Backoff, d: &Due, outcome: Result<(), SendError>) {
    let (id, channel) = (d.id, d.channel.clone());
    let recorded = match outcome {
        Ok(()) => {
            let sent = d.clone();
            db.write(move |tx| Ok(table::mark_sent(tx, &sent)?))
                .map(|marked| {
                    if !marked {
                        log::info!(
                            "outbox: {channel} {id} changed or went while it was sent; not marked sent"
                        );
                    }
                })
        }
        Err(error) => {
            let tries = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
            let retry_at = if error.retry {
                backoff.random_wait(tries).map(at)
            } else {
                None
            };
            log::warn!(
                "outbox: {channel} {id} failed (try {tries}): {}{}",
                error.message,
                if retry_at.is_some() {
                    "; will retry"
                } else {
                    "; giving up"
                }
            );
            db.write(move |tx| {
                Ok(table::mark_failed_try(
                    tx,
                    id,
                    &error.message,
                    retry_at.as_deref(),
                )?)
            })
        }
    };
    if let Err(e) = recorded {
        log::error!(
            "outbox: cannot record the try of {} {id}: {}",
            d.channel,
            crate::error::Chain(&e)
        );
    }
}

/// The timestamp `wait` from now (the last one the format holds, beyond it).
fn at(wait: Duration) -> String {
    time::Duration::try_from(wait)
        .ok()
        .and_then(|w| time::OffsetDateTime::now_utc().checked_add(w))
        .filter(|t| t.year() <= 9999)
        .map(time_fmt::format_timestamp)
        .unwrap_or_else(|| "9999-12-31T23:59:59.999Z".to_string())
}

/// How long to sleep before the channel's next row is due.
fn next_wait(db: &Db, channel: &'static str) -> Duration {
    match db.read(|c| Ok(table::next_due_at(c, channel)?)) {
        Ok(Some(at)) => time_fmt::parse_timestamp(&at)
            .map(|t| (t - time::OffsetDateTime::now_utc()).max(time::Duration::ZERO))
            .map(|d| Duration::from_millis(d.whole_milliseconds() as u64 + 5).min(IDLE))
            .unwrap_or(IDLE),
        _ => IDLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(base_secs: u64, max_attempts: u32) -> Backoff {
        Backoff {
            max_attempts,
            base: Duration::from_secs(base_secs),
        }
    }

    /// Every wait lies between the doubling step and half as long again, whatever the
    /// draw; the draws differ; after the last try there is no wait.
    #[test]
    fn the_jittered_wait_stays_within_its_bounds() {
        let b = backoff(30, 8);
        for tries in 1..8 {
            let step = Duration::from_secs(30 << (tries - 1));
            assert_eq!(b.step(tries), step);
            assert_eq!(b.wait(tries, 0.0), Some(step), "no extra at 0");
            assert_eq!(b.wait(tries, 1.0), Some(step + step / 2), "at most half");
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..200 {
                let w = b.random_wait(tries).expect("a retry follows");
                assert!(w >= step && w <= step + step / 2, "try {tries}: {w:?}");
                seen.insert(w);
            }
            assert!(
                seen.len() > 100,
                "the extra is random: {} draws",
                seen.len()
            );
        }
        assert_eq!(b.wait(8, 0.5), None, "the 8th failure was the last try");
        assert_eq!(b.random_wait(9), None);
        // Odd draws are taken as no extra.
        assert_eq!(b.wait(1, f64::NAN), Some(Duration::from_secs(30)));
        assert_eq!(b.wait(1, -1.0), Some(Duration::from_secs(30)));
    }

    #[test]
    fn the_step_stops_doubling_and_never_overflows() {
        let b = backoff(86_400, 100);
        assert_eq!(b.step(21), Duration::from_secs(86_400 << 20));
        assert_eq!(b.step(99), b.step(21));
        let w = b.wait(99, 0.999).unwrap();
        assert!(w >= b.step(99));
        // Far beyond what a timestamp holds: the last one it does.
        assert_eq!(at(Duration::MAX), "9999-12-31T23:59:59.999Z");
        assert!(at(w).as_str() > time_fmt::now().as_str());
        // A zero base retries at once.
        assert_eq!(backoff(0, 3).wait(2, 0.9), Some(Duration::ZERO));
    }

    /// A ring while a sender is busy is not missed; a stop ends every wait.
    #[test]
    fn the_bell_keeps_rings_and_stops() {
        let outbox = Outbox::new();
        let heard = outbox.rings().count;
        outbox.wake();
        let start = std::time::Instant::now();
        assert!(outbox.wait(heard, Duration::from_secs(10)));
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "rang before waiting"
        );
        let heard = outbox.rings().count;
        assert!(outbox.wait(heard, Duration::from_millis(20)), "timed out");
        let other = outbox.clone();
        let waiter = std::thread::spawn(move || other.wait(heard, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        outbox.stop();
        assert!(!waiter.join().unwrap(), "stopped");
        assert!(outbox.stopped());
    }
}
