//! What the webhook sender reads and records: the events due now (at most the first of
//! each customer's line per subscription, so first tries go out in commit order), each
//! try kept in `webhook_deliveries` (the subscription's delivery list), and a delivery
//! queued again by hand.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{disable, signing_secrets, CHANNEL};
use crate::db::{row, Columns};
use crate::time_fmt;

/// An event due for one subscription, with what its delivery needs.
#[derive(Debug, Clone)]
pub struct DueEvent {
    /// The outbox row.
    pub id: i64,
    pub subscription_id: i64,
    /// The line it waits in: a customer's events to one subscription go one by one.
    pub customer_id: Option<i64>,
    /// The recorded event: `{"id", "type", "timestamp", "data"}`.
    pub payload: String,
    /// Tries made so far.
    pub attempts: i64,
    pub target_url: String,
    pub payload_format: String,
    /// The secrets that sign it: the current one first.
    pub secrets: Vec<String>,
}

/// The events due now, oldest first: of each subscription and customer, only the
/// oldest due event (the next in its line); none of the subscriptions in `busy`.
pub fn due(conn: &Connection, busy: &[i64], limit: i64) -> rusqlite::Result<Vec<DueEvent>> {
    let now = time_fmt::now();
    let busy = serde_json::to_string(busy).expect("ids serialise");
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, s.id, o.customer_id, o.payload, o.attempts, s.target_url,
                s.payload_format, s.secret, s.previous_secret, s.previous_secret_expires_at
         FROM (SELECT id, address, customer_id, payload, attempts,
                      row_number() OVER (PARTITION BY address, coalesce(customer_id, -id)
                                         ORDER BY id) AS place
               FROM outbox
               WHERE channel = ?1 AND status = 'pending' AND next_attempt_at <= ?2) o
         JOIN webhook_subscriptions s ON s.id = CAST(o.address AS INTEGER) AND s.enabled
         WHERE o.place = 1 AND s.id NOT IN (SELECT value FROM json_each(?3))
         ORDER BY o.id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![CHANNEL, now, busy, limit], |r| {
        let mut c = Columns::of(r);
        let id = c.read()?;
        let subscription_id = c.read()?;
        let customer_id = c.read()?;
        let payload: Option<String> = c.read()?;
        let attempts = c.read()?;
        let target_url = c.read()?;
        let payload_format = c.read()?;
        let secrets = signing_secrets(c.read()?, c.read()?, c.read()?, &now);
        Ok(DueEvent {
            id,
            subscription_id,
            customer_id,
            payload: payload.unwrap_or_else(|| "{}".into()),
            attempts,
            target_url,
            payload_format,
            secrets,
        })
    })?;
    rows.collect()
}

/// When the next webhook event is due, if any is queued.
pub fn next_due_at(conn: &Connection) -> rusqlite::Result<Option<String>> {
    crate::db::outbox::next_due_at(conn, CHANNEL)
}

/// How one try ended.
#[derive(Debug, Clone)]
pub struct Try {
    pub subscription_id: i64,
    /// The outbox row; `None` for a `test`.
    pub outbox_id: Option<i64>,
    pub event_id: String,
    pub event_type: String,
    /// Which try of the event this was (1 for the first).
    pub attempt: i64,
    /// The HTTP status answered, if one came.
    pub status: Option<u16>,
    /// Why it failed; `None` for a 2xx.
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: String,
    /// What follows a failure.
    pub next: Next,
}

/// What follows a try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// It went out (2xx), or nothing follows (a test).
    Done,
    /// Tried again at this time.
    RetryAt(String),
    /// The event is kept as failed and the subscription disabled for this reason.
    Disable(&'static str),
}

/// Records tries: each in the delivery list, on its outbox row and as its
/// subscription's last delivery.
pub fn record(conn: &Connection, tries: &[Try]) -> rusqlite::Result<()> {
    for t in tries {
        conn.prepare_cached(
            "INSERT INTO webhook_deliveries (subscription_id, outbox_id, event_id, event_type,
                attempt, status, error, duration_ms, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            t.subscription_id,
            t.outbox_id,
            t.event_id,
            t.event_type,
            t.attempt,
            t.status,
            t.error,
            t.duration_ms,
            t.at
        ])?;
        conn.prepare_cached(
            "UPDATE webhook_subscriptions SET last_delivery_at = ?2, last_delivery_status = ?3,
                last_delivery_error = ?4 WHERE id = ?1",
        )?
        .execute(params![t.subscription_id, t.at, t.status, t.error])?;
        let Some(row) = t.outbox_id else {
            continue;
        };
        match (&t.error, &t.next) {
            (None, _) => conn
                .prepare_cached(
                    "UPDATE outbox SET status = 'sent', attempts = attempts + 1,
                        last_error = NULL, sent_at = ?2, updated_at = ?2
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .execute(params![row, t.at])?,
            (Some(error), Next::RetryAt(at)) => conn
                .prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                        next_attempt_at = ?3, updated_at = ?4
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .execute(params![row, error, at, t.at])?,
            (Some(error), _) => conn
                .prepare_cached(
                    "UPDATE outbox SET status = 'failed', attempts = attempts + 1,
                        last_error = ?2, updated_at = ?3
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .execute(params![row, error, t.at])?,
        };
        if let Next::Disable(reason) = t.next {
            disable(conn, t.subscription_id, reason)?;
        }
    }
    Ok(())
}

/// One try as the delivery list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub webhook_subscription_id: i64,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: String,
}

const COLUMNS: &str =
    "id, subscription_id, event_id, event_type, attempt, status, error, duration_ms, created_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Delivery> {
    let mut c = Columns::of(r);
    Ok(row!(c => Delivery {
        id, webhook_subscription_id, event_id, event_type, attempt, status, error,
        duration_ms, created_at,
    }))
}

/// A page of a subscription's tries, newest first, and how many there are.
pub fn page(
    conn: &Connection,
    subscription_id: i64,
    page: i64,
    items: i64,
) -> rusqlite::Result<(Vec<Delivery>, i64)> {
    let count = conn
        .prepare_cached("SELECT count(*) FROM webhook_deliveries WHERE subscription_id = ?1")?
        .query_row([subscription_id], |r| r.get(0))?;
    let offset = (page - 1).saturating_mul(items);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE subscription_id = ?1
         ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![subscription_id, items, offset], from_row)?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, count))
}

/// Why a delivery cannot be queued again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeliver {
    /// Queued again as this outbox row.
    Queued(Delivery),
    /// No such try of this subscription.
    NotFound,
    /// A `test`, or an event no longer kept (its customer was erased).
    Gone,
}

/// Queues the event of one of the subscription's tries again, as a first try (same
/// event id, so receivers can tell it is the same event).
pub fn redeliver(
    conn: &Connection,
    subscription_id: i64,
    delivery_id: i64,
) -> rusqlite::Result<Redeliver> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, outbox_id FROM webhook_deliveries WHERE id = ?1 AND subscription_id = ?2"
        ))?
        .query_row(params![delivery_id, subscription_id], |r| {
            Ok((from_row(r)?, r.get::<_, Option<i64>>(9)?))
        })
        .optional()?;
    let Some((delivery, Some(outbox_id))) = found else {
        return Ok(if found.is_some() {
            Redeliver::Gone
        } else {
            Redeliver::NotFound
        });
    };
    let now = time_fmt::now();
    let copied = conn
        .prepare_cached(
            "INSERT INTO outbox (channel, store_id, customer_id, customer_card_id, address,
                payload, status, next_attempt_at, created_at, updated_at)
             SELECT channel, store_id, customer_id, customer_card_id, address, payload,
                'pending', ?2, ?2, ?2
             FROM outbox WHERE id = ?1 AND channel = ?3",
        )?
        .execute(params![outbox_id, now, CHANNEL])?;
    Ok(if copied == 1 {
        Redeliver::Queued(delivery)
    } else {
        Redeliver::Gone
    })
}
