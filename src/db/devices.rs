//! Paired devices (a counter tablet): the pairing codes an owner shows, the device's own
//! API token that pairing gives it, its last use, its lock-out and its revocation.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{row, Columns};
use crate::time_fmt;

/// A device as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// Written every 30 seconds and at shutdown, like every token's last use.
    pub last_used_at: Option<String>,
    pub failed_pins: i64,
    pub locked_until: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str = "d.id, d.store_id, d.name, t.last_used_at, d.failed_pins, d.locked_until,
    d.revoked_at, d.created_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Device> {
    let mut c = Columns::of(r);
    let now = time_fmt::now();
    Ok(row!(c => Device {
        id, account_id, name, last_used_at, failed_pins,
        locked_until = c.read::<Option<String>>()?.filter(|t| *t > now),
        revoked_at, created_at,
    }))
}

pub fn list(conn: &Connection, store_id: i64) -> rusqlite::Result<Vec<Device>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM devices d JOIN api_tokens t ON t.id = d.token_id
         WHERE d.store_id = ?1 ORDER BY d.id"
    );
    super::all(conn, &sql, [store_id], from_row)
}

pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Device>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM devices d JOIN api_tokens t ON t.id = d.token_id
         WHERE d.id = ?1 AND d.store_id = ?2"
    );
    super::one(conn, &sql, [id, store_id], from_row)
}

/// Stores a pairing code's hash for `store_id`, valid for `secs` seconds; returns when
/// it expires.
pub fn add_pairing_code(
    conn: &Connection,
    store_id: i64,
    code_hash: &[u8; 32],
    name: &str,
    secs: i64,
) -> rusqlite::Result<String> {
    let now = time_fmt::now();
    conn.execute("DELETE FROM pairing_codes WHERE expires_at <= ?1", [&now])?;
    let expires_at = time_fmt::in_seconds(secs);
    conn.execute(
        "INSERT INTO pairing_codes (code_hash, store_id, name, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![&code_hash[..], store_id, name, now, expires_at],
    )?;
    Ok(expires_at)
}

/// Uses up a live pairing code: a new device of its store with a token whose hash is
/// given. `None` when the code is unknown, used or expired.
pub fn pair(
    conn: &Connection,
    code_hash: &[u8; 32],
    token_hash: &[u8; 32],
) -> rusqlite::Result<Option<Device>> {
    let now = time_fmt::now();
    let found: Option<(i64, String)> = super::one(
        conn,
        "DELETE FROM pairing_codes WHERE code_hash = ?1 AND expires_at > ?2
         RETURNING store_id, name",
        params![&code_hash[..], now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((store_id, name)) = found else {
        return Ok(None);
    };
    let label = format!("device: {name}");
    let token_id = super::tokens::insert(conn, token_hash, Some(&label), &[store_id])?;
    conn.execute(
        "INSERT INTO devices (store_id, token_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![store_id, token_id, name, now],
    )?;
    find(conn, store_id, conn.last_insert_rowid())
}

/// Revokes a device and its token (refused from the next request on) and ends its
/// sessions; `false` when the store has no such live device.
pub fn revoke(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    let now = time_fmt::now();
    let token: Option<i64> = super::one(
        conn,
        "UPDATE devices SET revoked_at = ?3 WHERE id = ?1 AND store_id = ?2 AND revoked_at IS NULL
         RETURNING token_id",
        params![id, store_id, now],
        |r| r.get(0),
    )?;
    let Some(token_id) = token else {
        return Ok(false);
    };
    super::tokens::revoke(conn, token_id)?;
    conn.execute("DELETE FROM staff_sessions WHERE device_id = ?1", [id])?;
    Ok(true)
}

/// Clears a device's wrong PINs and lock-out.
pub fn unlock(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE devices SET failed_pins = 0, locked_until = NULL WHERE id = ?1",
        [id],
    )?;
    Ok(())
}
