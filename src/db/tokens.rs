//! API tokens and the stores each may reach.

use super::{row, Columns};
use rusqlite::{params, Connection, OptionalExtension};

use crate::time_fmt;

/// A token as `stampd token list` shows it (never the token itself).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: i64,
    pub name: Option<String>,
    pub store_ids: Vec<i64>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Stores a new token's hash with its stores; returns the token's id.
pub fn insert(
    conn: &Connection,
    token_hash: &[u8; 32],
    name: Option<&str>,
    store_ids: &[i64],
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![name, &token_hash[..], time_fmt::now()],
    )?;
    let id = conn.last_insert_rowid();
    for s in store_ids {
        conn.execute(
            "INSERT OR IGNORE INTO api_token_stores (token_id, store_id) VALUES (?1, ?2)",
            params![id, s],
        )?;
    }
    Ok(id)
}

/// The id of the live (not revoked) token with this hash, and the stores it may reach
/// (every store a token names exists: stores are never deleted).
pub fn authenticate(
    conn: &Connection,
    token_hash: &[u8; 32],
) -> rusqlite::Result<Option<(i64, Vec<i64>)>> {
    conn.prepare_cached(
        "SELECT t.id, (SELECT group_concat(store_id) FROM api_token_stores WHERE token_id = t.id)
         FROM api_tokens t WHERE t.token_hash = ?1 AND t.revoked_at IS NULL",
    )?
    .query_row([&token_hash[..]], |r| {
        let stores: Option<String> = r.get(1)?;
        Ok((r.get(0)?, parse_ids(stores.as_deref())))
    })
    .optional()
}

fn parse_ids(list: Option<&str>) -> Vec<i64> {
    list.unwrap_or_default()
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at,
                (SELECT group_concat(store_id) FROM api_token_stores WHERE token_id = t.id)
         FROM api_tokens t ORDER BY t.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let mut c = Columns::of(r);
        Ok(row!(c => TokenInfo {
            id, name, created_at, last_used_at, revoked_at,
            store_ids = parse_ids(c.read::<Option<String>>()?.as_deref()),
        }))
    })?;
    rows.collect()
}

/// Revokes a token; false when there is no such live token.
pub fn revoke(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, time_fmt::now()],
    )?;
    Ok(n == 1)
}

pub fn record_usage(conn: &Connection, used: &[(i64, String)]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
    )?;
    for (id, at) in used {
        stmt.execute(params![id, at])?;
    }
    Ok(())
}
