//! The senders of the outbox: one thread per channel takes that channel's due rows from
//! the outbox table (`crate::db::outbox`), sends them, and records the tries. A failed
//! try is retried after a doubling wait with a random extra (see [`Backoff`]); after the
//! last one the row stays, marked failed, with its error. A channel without settings
//! leaves its rows pending with the reason "not configured", to go out once it is set
//! up. Threads of their own keep one channel's slow server from holding up another's
//! messages.
//!
//! A channel is a [`Channel`]: its name in the table, whether it has settings, and how
//! to send rows: card links by mail ([`email`]) and by text ([`sms`]), one at a time;
//! Apple Wallet pushes ([`apns`], many at once over one HTTP/2 connection) and Google
//! Wallet updates ([`google`]). How each channel fares is kept in [`health`] for the
//! status.

pub mod apns;
pub mod email;
pub mod google;
pub mod health;
pub mod sms;
pub mod tls;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::config::Settings;
use crate::db::outbox::{self as table, Due};
use crate::db::Db;
use crate::time_fmt;
use health::Health;

/// How many due rows one round takes, unless a channel says otherwise.
const BATCH: i64 = 20;
/// The longest a sender sleeps without looking at the table.
const IDLE: Duration = Duration::from_secs(30);
/// Network timeout of one try.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// The nice value of the wallet senders' threads: their rows come with every stamp, and
/// on a busy machine the stamps come first (merged updates wait for the CPU meanwhile),
/// as searches do.
const WALLET_NICE: i32 = 10;

/// One way out: mail, text, wallet pushes, later webhooks.
pub trait Channel: Send {
    /// The channel's name in the outbox table.
    fn name(&self) -> &'static str;
    /// Whether its settings are given; without them its rows wait.
    fn configured(&self) -> bool;
    /// Sends one row.
    fn send(&self, due: &Due) -> Result<(), SendError>;
    /// How many due rows a round takes, and how many of them go out together, their
    /// tries recorded in one write.
    fn batch(&self) -> Batch {
        Batch {
            rows: BATCH,
            together: 1,
        }
    }
    /// Sends rows that go out together; an outcome per row, in their order.
    fn send_together(&self, due: &[Due]) -> Vec<Result<(), SendError>> {
        due.iter().map(|d| self.send(d)).collect()
    }
    /// What the write recording a row whose address is gone ([`SendError::gone`]) also
    /// undoes (a device's registration).
    fn forget(&self) -> Option<Forget> {
        None
    }
    /// Whether rows of one address found due together go out as one: the newest of
    /// them is sent, and each is recorded with its outcome (a push to a device, or one
    /// write of a Google object, stands for every change queued for it before).
    fn merges(&self) -> bool {
        false
    }
    /// Whether a row that went out is kept (as sent), or forgotten. Failed rows are
    /// always kept, with their error.
    fn keeps_sent(&self, _due: &Due) -> bool {
        true
    }
    /// The nice value of the sender's thread: 0, or more for a channel whose rows come
    /// with every request (wallet updates) and may wait for the requests' CPU.
    fn nice(&self) -> i32 {
        0
    }
}

/// Undoes, in the recording write, what made a row's address (see [`Channel::forget`]).
pub type Forget = fn(&Connection, &Due) -> rusqlite::Result<()>;

/// Rows a round takes, and how many of them go out together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub rows: i64,
    pub together: usize,
}

/// Why a try failed, and whether another try could succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    pub retry: bool,
    /// The address itself is gone (a device that no longer takes pushes).
    pub gone: bool,
}

impl SendError {
    /// A failure a later try may not meet: a server down, busy or refusing for now, or
    /// settings that a restart may fix.
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: true,
            gone: false,
        }
    }

    /// A failure of the row itself that no later try can mend (an address that does
    /// not parse): it is kept as failed at once.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: false,
            gone: false,
        }
    }

    /// The address no longer exists: the row is kept as failed, and what made the
    /// address is undone ([`Channel::forget`]).
    pub fn gone(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: false,
            gone: true,
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

    /// The wallet channels' schedule, from `push_max_attempts` and `push_retry_base_secs`.
    pub fn for_wallets(settings: &Settings) -> Backoff {
        Backoff {
            max_attempts: settings.push_max_attempts,
            base: Duration::from_secs(settings.push_retry_base_secs),
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

/// The bell the writer rings when rows are queued (for their channels), and the server
/// rings to stop the senders; and how each channel fares ([`Health`]). A sender hears
/// the rings for its channel and those for all; one that was busy when it rang goes
/// round again at once instead of missing it.
#[derive(Clone, Default)]
pub struct Outbox {
    bell: Arc<Bell>,
    health: Arc<Health>,
}

#[derive(Default)]
struct Bell {
    state: Mutex<Rings>,
    rung: Condvar,
}

#[derive(Default, Clone)]
struct Rings {
    /// Rings for every channel.
    all: u64,
    /// Rings for one channel.
    channels: HashMap<String, u64>,
    stopped: bool,
}

impl Rings {
    /// What a sender of `channel` has heard so far: it changes with every ring it hears.
    fn heard(&self, channel: &str) -> u64 {
        let own = self.channels.get(channel).copied().unwrap_or(0);
        self.all.wrapping_add(own)
    }
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Says rows are queued, for any channel.
    pub fn wake(&self) {
        self.ring(|r| r.all = r.all.wrapping_add(1));
    }

    /// Says rows are queued for these channels.
    pub fn wake_channels(&self, channels: &[String]) {
        self.ring(|r| {
            for c in channels {
                let n = r.channels.entry(c.clone()).or_default();
                *n = n.wrapping_add(1);
            }
        });
    }

    /// Stops the senders after the rows each is sending now.
    pub fn stop(&self) {
        self.ring(|r| r.stopped = true);
    }

    /// How each channel fares.
    pub fn health(&self) -> &Health {
        &self.health
    }

    fn ring(&self, f: impl FnOnce(&mut Rings)) {
        let mut rings = self.bell.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rings);
        self.bell.rung.notify_all();
    }

    fn heard(&self, channel: &str) -> u64 {
        let rings = self.bell.state.lock().unwrap_or_else(|e| e.into_inner());
        rings.heard(channel)
    }

    fn stopped(&self) -> bool {
        self.bell
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stopped
    }

    /// Waits up to `timeout` for a ring `channel` hears after `heard`; false once stopped.
    fn wait(&self, channel: &str, heard: u64, timeout: Duration) -> bool {
        let rings = self.bell.state.lock().unwrap_or_else(|e| e.into_inner());
        let (rings, _) = self
            .bell
            .rung
            .wait_timeout_while(rings, timeout, |r| !r.stopped && r.heard(channel) == heard)
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

/// Starts a sender for each channel: card links by mail and by text, Apple Wallet
/// pushes and Google Wallet updates (the writer wakes them when it commits rows of
/// theirs), and webhooks (a sender of their own, see [`webhooks`]).
pub fn spawn(outbox: &Outbox, db: &Db, settings: &Settings, public_url: &str) -> Senders {
    let card_links = Backoff::from_settings(settings);
    let wallets = Backoff::for_wallets(settings);
    let channels: Vec<(Box<dyn Channel>, Backoff)> = vec![
        (
            Box::new(email::Email::new(settings.smtp.as_ref(), public_url)),
            card_links,
        ),
        (
            Box::new(sms::Sms::new(
                settings.sms.clone(),
                public_url,
                settings.extra_ca_file.as_deref(),
            )),
            card_links,
        ),
        (Box::new(apns::Apns::new(settings)), wallets),
        (
            Box::new(google::Google::new(settings, db, public_url)),
            wallets,
        ),
    ];
    let bell = outbox.clone();
    db.on_queued(move |channels| bell.wake_channels(channels));
    let mut senders: Vec<JoinHandle<()>> = channels
        .into_iter()
        .map(|(channel, backoff)| start(channel, outbox.clone(), db.clone(), backoff))
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
        .spawn(move || {
            if channel.nice() > 0 {
                crate::app::lower_thread_priority(channel.nice());
            }
            run(channel.as_ref(), &outbox, &db, backoff)
        })
        .expect("can start an outbox sender thread")
}

fn run(channel: &dyn Channel, outbox: &Outbox, db: &Db, backoff: Backoff) {
    let name = channel.name();
    let health = outbox.health();
    health.configured(name, channel.configured());
    loop {
        let heard = outbox.heard(name);
        let wait = if channel.configured() {
            match send_due(channel, outbox, db, backoff) {
                Round::Stopped => return,
                Round::Full => continue,
                Round::Done => next_wait(db, name),
            }
        } else {
            match db.write(move |tx| Ok(table::mark_unconfigured(tx, name)?)) {
                Ok(_) => {
                    let waiting = db.read(|c| Ok(table::next_due_at(c, name)?));
                    health.waiting_unconfigured(name, matches!(waiting, Ok(Some(_))));
                }
                Err(e) => log::warn!("outbox: {name}: {}", crate::error::Chain(&e)),
            }
            IDLE
        };
        if !outbox.wait(name, heard, wait) {
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

/// Sends the channel's due rows, those that go out together at once, recording each
/// group's tries in one write.
fn send_due(channel: &dyn Channel, outbox: &Outbox, db: &Db, backoff: Backoff) -> Round {
    let name = channel.name();
    let batch = channel.batch();
    let due = match db.read(|c| Ok(table::due(c, name, batch.rows)?)) {
        Ok(d) => d,
        Err(e) => {
            log::warn!(
                "outbox: cannot read due {name} rows: {}",
                crate::error::Chain(&e)
            );
            return Round::Done;
        }
    };
    let due_count = due.len();
    for group in groups(due, batch.together.max(1), channel.merges()) {
        if outbox.stopped() {
            return Round::Stopped;
        }
        let sent: Vec<Due> = group
            .iter()
            .filter_map(|rows| rows.last().cloned())
            .collect();
        let outcomes = channel.send_together(&sent);
        outbox.health().tried(name, &outcomes);
        // Each row of an address has the outcome of the one sent for it.
        let (rows, outcomes): (Vec<Due>, Vec<Result<(), SendError>>) = group
            .into_iter()
            .zip(outcomes)
            .flat_map(|(rows, outcome)| rows.into_iter().map(move |d| (d, outcome.clone())))
            .unzip();
        let kept: Vec<bool> = rows.iter().map(|d| channel.keeps_sent(d)).collect();
        record(db, backoff, &rows, outcomes, &kept, channel.forget());
    }
    if due_count as i64 == batch.rows {
        Round::Full
    } else {
        Round::Done
    }
}

/// The rows of a round in groups that go out together, `together` sends a group. A
/// send is a list of rows, the last of which goes out: one row each, or with merging
/// (see [`Channel::merges`]) every row of an address the round found, oldest first,
/// so that rows of one device found in one round are one push whatever their number.
fn groups(due: Vec<Due>, together: usize, merges: bool) -> Vec<Vec<Vec<Due>>> {
    let sends: Vec<Vec<Due>> = if merges {
        let mut of_address: HashMap<String, usize> = HashMap::new();
        let mut sends: Vec<Vec<Due>> = Vec::new();
        for d in due {
            match of_address.get(&d.address) {
                Some(&i) => sends[i].push(d),
                None => {
                    of_address.insert(d.address.clone(), sends.len());
                    sends.push(vec![d]);
                }
            }
        }
        for rows in &mut sends {
            rows.sort_by_key(|d| d.id);
        }
        sends
    } else {
        due.into_iter().map(|d| vec![d]).collect()
    };
    let mut groups = Vec::new();
    let mut sends = sends.into_iter().peekable();
    while sends.peek().is_some() {
        groups.push(sends.by_ref().take(together).collect());
    }
    groups
}

/// A row's try, as it is recorded.
struct Try {
    due: Due,
    /// Kept as sent when it went out; forgotten otherwise.
    kept: bool,
    outcome: Result<(), SendError>,
    retry_at: Option<String>,
}

/// Records the tries of `rows`, in one write: sent (or forgotten when not `kept`),
/// retried later, or kept as failed. Failures are logged once per error and outcome.
fn record(
    db: &Db,
    backoff: Backoff,
    rows: &[Due],
    outcomes: Vec<Result<(), SendError>>,
    kept: &[bool],
    forget: Option<Forget>,
) {
    let mut failures: Vec<(String, &'static str, Vec<i64>)> = Vec::new();
    // The rows of an address that failed together are tried again together.
    let mut retry_of_address: HashMap<String, Option<String>> = HashMap::new();
    let tries: Vec<Try> = rows
        .iter()
        .cloned()
        .zip(kept.iter().copied())
        .zip(outcomes)
        .map(|((d, kept), outcome)| {
            let mut retry_at = None;
            if let Err(error) = &outcome {
                let tries = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
                if error.retry {
                    retry_at = retry_of_address
                        .entry(d.address.clone())
                        .or_insert_with(|| backoff.random_wait(tries).map(at))
                        .clone();
                }
                let what = match (error.gone, &retry_at) {
                    (true, _) => "the address is gone",
                    (false, Some(_)) => "will retry",
                    (false, None) => "giving up",
                };
                match failures
                    .iter_mut()
                    .find(|(m, w, _)| *m == error.message && *w == what)
                {
                    Some((_, _, ids)) => ids.push(d.id),
                    None => failures.push((error.message.clone(), what, vec![d.id])),
                }
            }
            Try {
                due: d,
                kept,
                outcome,
                retry_at,
            }
        })
        .collect();
    let channel = rows.first().map_or("", |d| d.channel.as_str());
    for (message, what, ids) in &failures {
        let level = if *what == "the address is gone" {
            log::Level::Info
        } else {
            log::Level::Warn
        };
        let shown: Vec<i64> = ids.iter().copied().take(5).collect();
        let more = if ids.len() > shown.len() {
            format!(" and {} more", ids.len() - shown.len())
        } else {
            String::new()
        };
        log::log!(
            level,
            "outbox: {channel} {shown:?}{more} failed: {message}; {what}"
        );
    }
    let recorded = db.write(move |tx| {
        for Try {
            due: d,
            kept,
            outcome,
            retry_at,
        } in &tries
        {
            match outcome {
                Ok(()) => {
                    let done = if *kept {
                        table::mark_sent(tx, d)?
                    } else {
                        table::delete_sent(tx, d)?
                    };
                    if !done {
                        log::debug!(
                            "outbox: {} {} changed while it was sent; it goes again",
                            d.channel,
                            d.id
                        );
                    }
                }
                Err(error) => {
                    table::mark_failed_try(tx, d.id, &error.message, retry_at.as_deref())?;
                    if let (true, Some(forget)) = (error.gone, forget) {
                        forget(tx, d)?;
                    }
                }
            }
        }
        Ok(())
    });
    if let Err(e) = recorded {
        let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
        log::error!(
            "outbox: cannot record the tries of {channel} {ids:?}: {}",
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
mod tests;
