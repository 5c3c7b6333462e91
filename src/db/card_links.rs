//! Card-link sends and their throttle. Every send of a customer's card links — the
//! explicit re-send, `send_card_links` on create, the public signup page — goes through
//! [`send`], which queues a message per card by each channel the customer has an
//! address for, unless that channel is held back: per customer and channel, one send
//! per [`Throttle::min_gap`] and [`Throttle::per_day`] in any 24 hours. A held-back
//! channel gets a `suppressed` row per card instead, with the reason, so the deliveries
//! list shows it; the caller decides whether that is an error (the explicit re-send
//! answers 429 when nothing could go) or not (sends made as part of another request).
//!
//! A send is the rows one call queues for one channel (one per card): they share their
//! `created_at`, which is how the throttle counts sends rather than rows.

use rusqlite::{params, Connection};
use time::{Duration, OffsetDateTime};

use super::outbox::{self, NewMessage, EMAIL, SMS};
use crate::time_fmt;

/// How often card links may go to one customer by one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// The least time between two sends.
    pub min_gap: Duration,
    /// The most sends in any 24 hours.
    pub per_day: u32,
}

/// Every send: at most one per channel every 10 minutes and 5 a day.
pub const CARD_LINKS: Throttle = Throttle {
    min_gap: Duration::minutes(10),
    per_day: 5,
};

/// The signup page re-sending a known contact's card: at most once an hour (and the
/// daily cap of every send).
pub const SIGNUP_RESEND: Throttle = Throttle {
    min_gap: Duration::hours(1),
    per_day: CARD_LINKS.per_day,
};

/// Who the links go to.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub store_id: i64,
    pub customer_id: i64,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// A channel held back, why, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub channel: &'static str,
    pub reason: String,
    /// Seconds until a send by this channel may go.
    pub wait_secs: u64,
}

/// What one [`send`] did.
#[derive(Debug, Default)]
pub struct Sent {
    /// The rows queued to go out.
    pub queued: Vec<i64>,
    /// The `suppressed` rows recorded for channels held back.
    pub suppressed: Vec<i64>,
    /// The channels held back.
    pub held: Vec<Held>,
}

impl Sent {
    /// Every row of the send, queued or suppressed.
    pub fn rows(&self) -> Vec<i64> {
        let mut all = self.queued.clone();
        all.extend(&self.suppressed);
        all
    }

    /// Something was to be sent and every channel of it was held back.
    pub fn all_held(&self) -> bool {
        self.queued.is_empty() && !self.held.is_empty()
    }

    /// What the explicit re-send answers when [`Sent::all_held`]: the reasons, and
    /// the seconds until the first channel may send again.
    pub fn refusal(&self) -> (String, u64) {
        let reasons: Vec<&str> = self.held.iter().map(|h| h.reason.as_str()).collect();
        let wait = self.held.iter().map(|h| h.wait_secs).min().unwrap_or(1);
        (
            format!(
                "Card links were sent to this customer too recently ({}). Try again in {wait} seconds.",
                reasons.join("; ")
            ),
            wait,
        )
    }
}

/// Queues the links of `cards` (customer card ids) to each address of `to`, by each
/// channel `throttle` lets through now; for the others, records `suppressed` rows.
pub fn send(
    conn: &Connection,
    to: &Recipient,
    cards: &[i64],
    throttle: Throttle,
) -> rusqlite::Result<Sent> {
    let now = OffsetDateTime::now_utc();
    let at = time_fmt::format_timestamp(now);
    let mut sent = Sent::default();
    if cards.is_empty() {
        return Ok(sent);
    }
    for (channel, address) in [(EMAIL, to.email), (SMS, to.phone)] {
        let Some(address) = address else { continue };
        let held = held(conn, to.customer_id, channel, throttle, now)?;
        for &cc in cards {
            let m = NewMessage {
                channel,
                store_id: to.store_id,
                customer_id: Some(to.customer_id),
                customer_card_id: Some(cc),
                address,
                payload: None,
                key: None,
            };
            match &held {
                None => sent.queued.push(outbox::enqueue_at(conn, &m, &at)?),
                Some(h) => sent
                    .suppressed
                    .push(outbox::record_suppressed(conn, &m, &h.reason, &at)?),
            }
        }
        sent.held.extend(held);
    }
    Ok(sent)
}

/// Why `channel` may not send card links to the customer at `now`, if it may not.
pub fn held(
    conn: &Connection,
    customer_id: i64,
    channel: &'static str,
    throttle: Throttle,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<Held>> {
    let day_ago = time_fmt::format_timestamp(now - Duration::DAY);
    // The times of this channel's sends in the last 24 hours, newest first.
    let sends: Vec<OffsetDateTime> = conn
        .prepare_cached(
            "SELECT DISTINCT created_at FROM outbox
             WHERE customer_id = ?1 AND channel = ?2 AND status <> 'suppressed'
               AND created_at > ?3
             ORDER BY created_at DESC LIMIT ?4",
        )?
        .query_map(
            params![customer_id, channel, day_ago, throttle.per_day],
            |r| r.get::<_, String>(0),
        )?
        .filter_map(|t| t.map(|t| time_fmt::parse_timestamp(&t)).transpose())
        .collect::<rusqlite::Result<_>>()?;
    let Some(&last) = sends.first() else {
        return Ok(None);
    };
    let after_gap = last + throttle.min_gap;
    let after_day =
        (sends.len() as u32 >= throttle.per_day).then(|| sends[sends.len() - 1] + Duration::DAY);
    let (until, reason) = match after_day {
        Some(t) if t > now && t >= after_gap => (
            t,
            format!(
                "{channel}: {} sends in the last 24 hours, at most {} a day",
                sends.len(),
                throttle.per_day
            ),
        ),
        _ if after_gap > now => (
            after_gap,
            format!(
                "{channel}: sent {} ago, at most once every {}",
                span(now - last),
                span(throttle.min_gap)
            ),
        ),
        _ => return Ok(None),
    };
    let wait = until - now;
    let secs = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
    Ok(Some(Held {
        channel,
        reason,
        wait_secs: secs.max(1) as u64,
    }))
}

/// A span as people say it: "40 seconds", "1 minute", "10 minutes", "1 hour".
fn span(d: Duration) -> String {
    let (n, unit) = match d.whole_seconds().max(0) {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s => (s / 3600, "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    struct Shop {
        _dir: tempfile::TempDir,
        conn: Connection,
        store: i64,
        customer: i64,
        cards: Vec<i64>,
    }

    fn shop(cards: usize) -> Shop {
        let (dir, conn, store) = db::testing::database_with_a_store();
        // The throttle reads the outbox alone: customer and card ids need no rows here.
        db::exec(&conn, "PRAGMA foreign_keys = OFF").unwrap();
        let (customer, ids) = (7, (1..=cards as i64).collect());
        Shop {
            _dir: dir,
            conn,
            store,
            customer,
            cards: ids,
        }
    }

    fn to(s: &Shop) -> Recipient<'static> {
        Recipient {
            store_id: s.store,
            customer_id: s.customer,
            email: Some("ann@example.com"),
            phone: Some("+14155550100"),
        }
    }

    /// Moves every row of the customer `by` into the past.
    fn age(s: &Shop, by: Duration) {
        let rows: Vec<(i64, String)> = s
            .conn
            .prepare("SELECT id, created_at FROM outbox")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (id, at) in rows {
            let t = time_fmt::parse_timestamp(&at).unwrap() - by;
            s.conn
                .execute(
                    "UPDATE outbox SET created_at = ?2 WHERE id = ?1",
                    params![id, time_fmt::format_timestamp(t)],
                )
                .unwrap();
        }
    }

    /// One send is a message per card by each channel; a second within ten minutes is
    /// held back, recorded once per card and channel however often it is tried.
    #[test]
    fn a_send_covers_every_card_and_a_second_one_is_held_back() {
        let s = shop(2);
        let first = send(&s.conn, &to(&s), &s.cards, CARD_LINKS).unwrap();
        assert_eq!(first.queued.len(), 4, "2 cards × 2 channels");
        assert!(first.held.is_empty());

        for _ in 0..3 {
            let again = send(&s.conn, &to(&s), &s.cards, CARD_LINKS).unwrap();
            assert!(again.all_held(), "{again:?}");
            assert_eq!(again.held.len(), 2);
            assert_eq!(again.suppressed.len(), 4);
            let (message, wait) = again.refusal();
            assert!((595..=600).contains(&wait), "{wait}");
            assert!(
                message.contains("email: sent 0 seconds ago, at most once every 10 minutes"),
                "{message}"
            );
        }
        let statuses: Vec<String> = s
            .conn
            .prepare("SELECT status FROM outbox ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            statuses,
            ["pending", "pending", "pending", "pending"]
                .into_iter()
                .chain(["suppressed"; 4])
                .collect::<Vec<_>>(),
            "repeats merge into the suppressed rows"
        );
    }

    #[test]
    fn after_the_gap_it_goes_and_the_sixth_in_a_day_waits() {
        let s = shop(1);
        for n in 0..5 {
            let sent = send(&s.conn, &to(&s), &s.cards, CARD_LINKS).unwrap();
            assert_eq!(sent.queued.len(), 2, "send {n}: {sent:?}");
            age(&s, Duration::minutes(11));
        }
        // Five sends in the last 55 minutes: the next waits until the oldest is a day old.
        let sent = send(&s.conn, &to(&s), &s.cards, CARD_LINKS).unwrap();
        assert!(sent.all_held(), "{sent:?}");
        let (message, wait) = sent.refusal();
        assert!(
            message.contains("sms: 5 sends in the last 24 hours, at most 5 a day"),
            "{message}"
        );
        let expected = (Duration::DAY - Duration::minutes(55)).whole_seconds() as u64;
        assert!(wait.abs_diff(expected) <= 2, "{wait} vs {expected}");
        // Once the oldest is more than a day old, one more may go.
        age(&s, Duration::hours(23) + Duration::minutes(4));
        let sent = send(&s.conn, &to(&s), &s.cards, CARD_LINKS).unwrap();
        assert!(sent.all_held(), "a minute short: {sent:?}");
        age(&s, Duration::minutes(2));
        let sent = send(&s.conn, &to(&s), &s.cards, CARD_LINKS).unwrap();
        assert_eq!(sent.queued.len(), 2, "{sent:?}");
    }

    /// The signup's re-send waits an hour; a channel held back does not hold back the
    /// other one.
    #[test]
    fn the_signup_resend_waits_an_hour_per_channel() {
        let s = shop(1);
        let email_only = Recipient {
            phone: None,
            ..to(&s)
        };
        send(&s.conn, &email_only, &s.cards, CARD_LINKS).unwrap();
        age(&s, Duration::minutes(30));
        let sent = send(&s.conn, &to(&s), &s.cards, SIGNUP_RESEND).unwrap();
        assert_eq!(sent.queued.len(), 1, "the text goes: {sent:?}");
        assert_eq!(sent.held.len(), 1);
        assert_eq!(sent.held[0].channel, EMAIL);
        assert!(!sent.all_held());
        assert!(
            sent.held[0]
                .reason
                .contains("sent 30 minutes ago, at most once every 1 hour"),
            "{:?}",
            sent.held
        );
    }
}
