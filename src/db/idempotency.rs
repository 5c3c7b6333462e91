//! Stored responses of requests that carried an `Idempotency-Key`.

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
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency_keys (token_id, key, fingerprint, status, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![token_id, key, fingerprint, status, body, time_fmt::now()])?;
    Ok(())
}

/// Forgets keys older than 24 hours; returns how many.
pub fn purge(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= ?1",
        [cutoff()],
    )
}
