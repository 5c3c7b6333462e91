//! The outbox of card-link messages: one row per channel and card, sent in the
//! background, retried with backoff, and kept with its last error when it gives up.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::time_fmt;

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub account_id: i64,
    pub customer_id: i64,
    pub customer_card_id: i64,
    pub channel: String,
    pub address: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, store_id, customer_id, customer_card_id, channel, address, status,
    attempts, last_error, next_attempt_at, sent_at, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Delivery> {
    let status: String = r.get(6)?;
    Ok(Delivery {
        id: r.get(0)?,
        account_id: r.get(1)?,
        customer_id: r.get(2)?,
        customer_card_id: r.get(3)?,
        channel: r.get(4)?,
        address: r.get(5)?,
        next_attempt_at: if status == "pending" { r.get(9)? } else { None },
        status,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        sent_at: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

/// Queues the card's links for delivery to each address given; returns the new ids.
pub fn queue(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    customer_card_id: i64,
    email: Option<&str>,
    phone: Option<&str>,
) -> rusqlite::Result<Vec<i64>> {
    let now = time_fmt::now();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO deliveries (store_id, customer_id, customer_card_id, channel, address,
            next_attempt_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
    )?;
    let mut ids = Vec::new();
    for (channel, address) in [("email", email), ("sms", phone)] {
        if let Some(a) = address {
            stmt.execute(params![
                store_id,
                customer_id,
                customer_card_id,
                channel,
                a,
                now
            ])?;
            ids.push(conn.last_insert_rowid());
        }
    }
    Ok(ids)
}

/// Filters of the delivery list.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: Option<String>,
    pub customer_id: Option<i64>,
}

pub fn page(
    conn: &Connection,
    store_id: i64,
    f: &Filter,
    page: i64,
    items: i64,
) -> rusqlite::Result<(Vec<Delivery>, i64)> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM deliveries WHERE store_id = ?1
               AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR customer_id = ?3)",
        )?
        .query_row(params![store_id, f.status, f.customer_id], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE store_id = ?1
           AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR customer_id = ?3)
         ORDER BY id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let offset = (page - 1).saturating_mul(items);
    let rows = stmt.query_map(
        params![store_id, f.status, f.customer_id, items, offset],
        from_row,
    )?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, count))
}

pub fn find_many(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<Delivery>> {
    let json = serde_json::to_string(ids).expect("ids serialise");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
    ))?;
    let rows = stmt.query_map([json], from_row)?;
    rows.collect()
}

/// A due delivery with what its message says.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub channel: String,
    pub address: String,
    pub attempts: i64,
    pub first_name: String,
    pub store_name: String,
    pub card_name: String,
    pub uuid: String,
}

/// Pending deliveries of the given channels whose time has come, oldest first.
pub fn due(conn: &Connection, channels: &[&str], limit: i64) -> rusqlite::Result<Vec<Due>> {
    let json = serde_json::to_string(channels).expect("channels serialise");
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.channel, d.address, d.attempts, cu.first_name,
                coalesce(s.store_name, s.name), c.name, cc.uuid
         FROM deliveries d
         JOIN customers cu ON cu.id = d.customer_id
         JOIN stores s ON s.id = d.store_id
         JOIN customer_cards cc ON cc.id = d.customer_card_id
         JOIN cards c ON c.id = cc.card_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
           AND d.channel IN (SELECT value FROM json_each(?2))
         ORDER BY d.next_attempt_at, d.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![time_fmt::now(), json, limit], |r| {
        Ok(Due {
            id: r.get(0)?,
            channel: r.get(1)?,
            address: r.get(2)?,
            attempts: r.get(3)?,
            first_name: r.get(4)?,
            store_name: r.get(5)?,
            card_name: r.get(6)?,
            uuid: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// When the next pending delivery of these channels is due, if any.
pub fn next_due_at(conn: &Connection, channels: &[&str]) -> rusqlite::Result<Option<String>> {
    let json = serde_json::to_string(channels).expect("channels serialise");
    conn.prepare_cached(
        "SELECT min(next_attempt_at) FROM deliveries
         WHERE status = 'pending' AND channel IN (SELECT value FROM json_each(?1))",
    )?
    .query_row([json], |r| r.get(0))
    .optional()
    .map(Option::flatten)
}

pub fn mark_sent(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    conn.execute(
        "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, last_error = NULL,
            sent_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Records a failed try: retried at `retry_at`, or kept as failed when `None`.
pub fn mark_failed_try(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: Option<&str>,
) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    match retry_at {
        Some(at) => conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                updated_at = ?4 WHERE id = ?1",
            params![id, error, at, now],
        )?,
        None => conn.execute(
            "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?2,
                updated_at = ?3 WHERE id = ?1",
            params![id, error, now],
        )?,
    };
    Ok(())
}

/// Notes on pending deliveries of channels without settings why they wait.
pub fn mark_unconfigured(conn: &Connection, channels: &[&str]) -> rusqlite::Result<usize> {
    let json = serde_json::to_string(channels).expect("channels serialise");
    conn.execute(
        "UPDATE deliveries SET last_error = 'not configured', updated_at = ?2
         WHERE status = 'pending' AND channel IN (SELECT value FROM json_each(?1))
           AND last_error IS NOT 'not configured'",
        params![json, time_fmt::now()],
    )
}
