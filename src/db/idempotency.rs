//! Stored responses of requests that carried an `Idempotency-Key`, and what each token
//! holds of them.
//!
//! Storage is bounded by a quota of bytes per token (`idempotency_quota_kib`), counted
//! by the triggers of the V6 migration in `idempotency_usage`. A quota and not a cap on
//! each reply: a capped reply could only be stored as a reference to render again, and
//! a replay would then show the record as it is now, not the answer the client missed;
//! and a cap alone would not bound the total, which grows with the number of requests.
//! With a quota every stored reply replays byte for byte for its 24 hours, and a token
//! that fills its quota is told so (429) instead of losing the promise silently.

use super::{row, Columns};
use rusqlite::{params, Connection, OptionalExtension};

use crate::time_fmt;

/// How long a key is remembered.
pub const KEEP_HOURS: i64 = 24;

pub struct Stored {
    pub fingerprint: Vec<u8>,
    pub status: u16,
    pub body: String,
}

fn cutoff() -> String {
    time_fmt::format_timestamp(time::OffsetDateTime::now_utc() - time::Duration::hours(KEEP_HOURS))
}

/// The live (younger than 24 hours) stored response for this token and key.
pub fn find(conn: &Connection, token_id: i64, key: &str) -> rusqlite::Result<Option<Stored>> {
    conn.prepare_cached(
        "SELECT fingerprint, status, body FROM idempotency_keys
         WHERE token_id = ?1 AND key = ?2 AND created_at > ?3",
    )?
    .query_row(params![token_id, key, cutoff()], |r| {
        let mut c = Columns::of(r);
        Ok(row!(c => Stored {
            fingerprint, status, body,
        }))
    })
    .optional()
}

pub fn save(
    conn: &Connection,
    token_id: i64,
    key: &str,
    fingerprint: &[u8],
    status: u16,
    body: &str,
) -> rusqlite::Result<()> {
    // An expired reply under the same key goes first, by a DELETE: a REPLACE would
    // remove it without its trigger, and the token's usage would keep counting it.
    conn.prepare_cached("DELETE FROM idempotency_keys WHERE token_id = ?1 AND key = ?2")?
        .execute(params![token_id, key])?;
    conn.prepare_cached(
        "INSERT INTO idempotency_keys (token_id, key, fingerprint, status, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        token_id,
        key,
        fingerprint,
        status,
        body,
        time_fmt::now()
    ])?;
    Ok(())
}

/// Bytes of stored replies the token holds (as the V6 migration counts them).
pub fn bytes_held(conn: &Connection, token_id: i64) -> rusqlite::Result<u64> {
    let bytes: Option<i64> = conn
        .prepare_cached("SELECT bytes FROM idempotency_usage WHERE token_id = ?1")?
        .query_row([token_id], |r| r.get(0))
        .optional()?;
    Ok(bytes.unwrap_or(0).max(0) as u64)
}

/// Forgets the token's expired replies, so that they no longer count against its quota
/// (the periodic `purge` forgets every token's, but only now and then).
pub fn forget_expired(conn: &Connection, token_id: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM idempotency_keys WHERE token_id = ?1 AND created_at <= ?2")?
        .execute(params![token_id, cutoff()])
}

/// Seconds until the token's oldest stored reply expires and frees its room (at least 1).
pub fn seconds_until_oldest_expires(conn: &Connection, token_id: i64) -> rusqlite::Result<u64> {
    let oldest: Option<String> = conn
        .prepare_cached("SELECT min(created_at) FROM idempotency_keys WHERE token_id = ?1")?
        .query_row([token_id], |r| r.get(0))?;
    let now = time::OffsetDateTime::now_utc();
    let expires = oldest
        .and_then(|t| time_fmt::parse_timestamp(&t))
        .map_or(now, |t| t + time::Duration::hours(KEEP_HOURS));
    Ok((expires - now).whole_seconds().max(1) as u64)
}

/// Forgets keys older than 24 hours; returns how many.
pub fn purge(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= ?1",
        [cutoff()],
    )
}
