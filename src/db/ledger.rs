//! The stamp ledger: append-only rows whose deltas sum to each card's balance.

use super::{row, Columns};
use rusqlite::{params, Connection};

use crate::time_fmt;

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WelcomeBonus,
    Stamp,
    Adjustment,
    Redemption,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WelcomeBonus => "welcome_bonus",
            Kind::Stamp => "stamp",
            Kind::Adjustment => "adjustment",
            Kind::Redemption => "redemption",
        }
    }
}

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

/// Appends a ledger row and counts it in the day's rollups, in the caller's transaction:
/// every stamp, correction and redemption passes here.
pub fn append(conn: &Connection, e: &Entry) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
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
        now
    ])?;
    let id = conn.last_insert_rowid();
    super::insights::rollup::entry(conn, e, &now)?;
    Ok(id)
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
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM stamp_events WHERE customer_card_id = ?1
         ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![customer_card_id, items, offset], event_row)?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, count))
}

/// One ledger row by id.
pub fn find(conn: &Connection, id: i64) -> rusqlite::Result<Option<Event>> {
    super::one(
        conn,
        &format!("SELECT {EVENT_COLUMNS} FROM stamp_events WHERE id = ?1"),
        [id],
        event_row,
    )
}

const EVENT_COLUMNS: &str = "id, customer_card_id, kind, stamps, balance_after, reward_id,
    reward_name, note, token_id, skip_notifications, created_at";

fn event_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    let mut c = Columns::of(r);
    Ok(row!(c => Event {
        id, customer_card_id, kind, stamps, balance_after, reward_id, reward_name, note,
        token_id, skip_notifications, created_at,
    }))
}
