//! The stamp ledger: append-only rows whose deltas sum to each card's balance.

use super::{row, Columns};
use rusqlite::{params, Connection};

use crate::time_fmt;

/// What a ledger row records (its names live in the domain's vocabulary).
pub use crate::domain::LedgerKind as Kind;

/// One new ledger row.
pub struct Entry<'a> {
    pub store_id: i64,
    pub customer_card_id: i64,
    pub kind: Kind,
    pub stamps: i64,
    pub balance_after: i64,
    pub reward: Option<(i64, &'a str)>,
    pub note: Option<&'a str>,
    pub token_id: Option<i64>,
    pub skip_notifications: bool,
}

pub fn append(conn: &Connection, e: &Entry) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO stamp_events (store_id, customer_card_id, kind, stamps, balance_after,
            reward_id, reward_name, note, token_id, skip_notifications, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        e.store_id,
        e.customer_card_id,
        e.kind.as_str(),
        e.stamps,
        e.balance_after,
        e.reward.map(|r| r.0),
        e.reward.map(|r| r.1),
        e.note,
        e.token_id,
        e.skip_notifications,
        time_fmt::now()
    ])?;
    Ok(conn.last_insert_rowid())
}

/// A ledger row as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub id: i64,
    pub customer_card_id: i64,
    pub kind: String,
    pub stamps: i64,
    pub balance_after: i64,
    pub reward_id: Option<i64>,
    pub reward_name: Option<String>,
    pub note: Option<String>,
    pub token_id: Option<i64>,
    pub skip_notifications: bool,
    pub created_at: String,
}

/// One page of a card's ledger, newest first, and the number of rows in all.
pub fn page(
    conn: &Connection,
    customer_card_id: i64,
    page: i64,
    items: i64,
) -> rusqlite::Result<(Vec<Event>, i64)> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM stamp_events WHERE customer_card_id = ?1")?
        .query_row([customer_card_id], |r| r.get(0))?;
    let offset = (page - 1).saturating_mul(items);
    let mut stmt = conn.prepare_cached(
        "SELECT id, customer_card_id, kind, stamps, balance_after, reward_id, reward_name, note,
                token_id, skip_notifications, created_at
         FROM stamp_events WHERE customer_card_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![customer_card_id, items, offset], |r| {
        let mut c = Columns::of(r);
        Ok(row!(c => Event {
            id, customer_card_id, kind, stamps, balance_after, reward_id, reward_name, note,
            token_id, skip_notifications, created_at,
        }))
    })?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, count))
}
