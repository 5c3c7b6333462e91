//! How much of each subscription's delivery history is kept: its tries (the delivery
//! list) within `webhook_history_days` and the newest `webhook_history_per_subscription`,
//! and the sent or dropped events those tries refer to (redeliver copies them), as
//! Stripe and Svix keep a bounded recent history. Events still queued are never removed.
//!
//! The sweep finds what is beyond the limits on a read connection and removes it through
//! the writer a batch at a time, so a stamp waits at most for one small batch.

use rusqlite::{params, Connection};

use super::CHANNEL;
use crate::db::Db;
use crate::error::ApiError;
use crate::time_fmt;

/// Rows removed per write.
const BATCH: i64 = 500;

/// The limits of a subscription's history.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub days: u64,
    pub per_subscription: u64,
}

/// What to remove in one write: tries, and events no remaining try may refer to.
#[derive(Debug, Default)]
struct Batch {
    deliveries: Vec<i64>,
    events: Vec<i64>,
}

/// Removes the history beyond `keep` of every subscription; returns how many rows went.
pub fn sweep(db: &Db, keep: Keep) -> Result<usize, ApiError> {
    let days = i64::try_from(keep.days).unwrap_or(i64::MAX).min(36_500);
    let cutoff =
        time_fmt::format_timestamp(time::OffsetDateTime::now_utc() - time::Duration::days(days));
    let kept = i64::try_from(keep.per_subscription).unwrap_or(i64::MAX);
    let subscriptions = db.read(|c| {
        let mut stmt = c.prepare_cached("SELECT id FROM webhook_subscriptions ORDER BY id")?;
        let ids = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        Ok(ids.collect::<rusqlite::Result<Vec<_>>>()?)
    })?;
    let mut removed = 0;
    for s in subscriptions {
        loop {
            let cutoff = cutoff.clone();
            let batch = db.read(move |c| Ok(beyond(c, s, kept, &cutoff)?))?;
            if batch.deliveries.is_empty() && batch.events.is_empty() {
                break;
            }
            let n = db.write(move |tx| Ok(remove(tx, &batch)?))?;
            if n == 0 {
                break;
            }
            removed += n;
        }
    }
    Ok(removed)
}

/// The oldest batch of a subscription's history beyond the limits.
fn beyond(
    conn: &Connection,
    subscription: i64,
    kept: i64,
    cutoff: &str,
) -> rusqlite::Result<Batch> {
    // The newest try that is one too many, if there are that many.
    let last_extra: Option<i64> = crate::db::one(
        conn,
        "SELECT id FROM webhook_deliveries WHERE subscription_id = ?1
         ORDER BY id DESC LIMIT 1 OFFSET ?2",
        params![subscription, kept],
        |r| r.get(0),
    )?;
    let mut batch = Batch::default();
    let mut stmt = conn.prepare_cached(
        "SELECT id, outbox_id FROM webhook_deliveries
         WHERE subscription_id = ?1 AND (id <= ?2 OR created_at < ?3)
         ORDER BY id LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![subscription, last_extra.unwrap_or(-1), cutoff, BATCH],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
    )?;
    for row in rows {
        let (id, event) = row?;
        batch.deliveries.push(id);
        batch.events.extend(event);
    }
    batch.events.sort_unstable();
    batch.events.dedup();
    // Events past the age limit that no try refers to (dropped when the subscription
    // was disabled, before any try).
    let mut stmt = conn.prepare_cached(
        "SELECT o.id FROM outbox o
         WHERE o.channel = ?1 AND o.address = ?2 AND o.status != 'pending'
           AND o.updated_at < ?3
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.outbox_id = o.id)
         ORDER BY o.id LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![CHANNEL, subscription.to_string(), cutoff, BATCH],
        |r| r.get::<_, i64>(0),
    )?;
    for id in rows {
        batch.events.push(id?);
    }
    Ok(batch)
}

/// Removes a batch: the tries, then each event once no try refers to it (a later retry
/// may still be kept) and it is no longer queued.
fn remove(conn: &Connection, batch: &Batch) -> rusqlite::Result<usize> {
    let mut n = 0;
    let mut delivery = conn.prepare_cached("DELETE FROM webhook_deliveries WHERE id = ?1")?;
    for id in &batch.deliveries {
        n += delivery.execute([id])?;
    }
    let mut event = conn.prepare_cached(
        "DELETE FROM outbox WHERE id = ?1 AND channel = ?2 AND status != 'pending'
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE outbox_id = ?1)",
    )?;
    for id in &batch.events {
        n += event.execute(params![id, CHANNEL])?;
    }
    Ok(n)
}
