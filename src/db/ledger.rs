//! The stamp ledger: append-only rows whose deltas sum to each card's balance.

use super::{row, Columns};
use rusqlite::{params, Connection};

use crate::time_fmt;

/// What a ledger row records (its names live in the domain's vocabulary).
pub use crate::domain::LedgerKind as Kind;

/// Who a ledger row names: the token of the request, and on a paired device the device
/// and the staff member signed in on it (their name as it was then).
#[derive(Debug, Clone, Default)]
pub struct Who {
    pub token_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
    pub device_id: Option<i64>,
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
    pub who: &'a Who,
    /// For a stamp: when the customer's visit it belongs to started.
    pub visit_started_at: Option<&'a str>,
    pub skip_notifications: bool,
}

/// Appends a ledger row and counts it in the day's rollups, in the caller's transaction:
/// every stamp, correction and redemption passes here.
pub fn append(conn: &Connection, e: &Entry) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    conn.prepare_cached(
        "INSERT INTO stamp_events (store_id, customer_card_id, kind, stamps, balance_after,
            reward_id, reward_name, note, token_id, skip_notifications, created_at, staff_id,
            staff_name, device_id, visit_started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
        e.who.token_id,
        e.skip_notifications,
        now,
        e.who.staff_id,
        e.who.staff_name,
        e.who.device_id,
        e.visit_started_at
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
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
    pub device_id: Option<i64>,
    pub skip_notifications: bool,
    pub created_at: String,
}

/// Which rows of a ledger a page shows: `None` for all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub staff_id: Option<i64>,
    pub device_id: Option<i64>,
}

/// One page of a card's ledger, newest first, and the number of rows in all (that the
/// filter keeps).
pub fn page(
    conn: &Connection,
    customer_card_id: i64,
    filter: Filter,
    page: i64,
    items: i64,
) -> rusqlite::Result<(Vec<Event>, i64)> {
    const KEEP: &str = "customer_card_id = ?1 AND (?2 IS NULL OR staff_id = ?2)
        AND (?3 IS NULL OR device_id = ?3)";
    let count: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM stamp_events WHERE {KEEP}"))?
        .query_row(
            params![customer_card_id, filter.staff_id, filter.device_id],
            |r| r.get(0),
        )?;
    let offset = (page - 1).saturating_mul(items);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM stamp_events WHERE {KEEP} ORDER BY id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            customer_card_id,
            filter.staff_id,
            filter.device_id,
            items,
            offset
        ],
        event_row,
    )?;
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
    reward_name, note, token_id, staff_id, staff_name, device_id, skip_notifications, created_at";

fn event_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    let mut c = Columns::of(r);
    Ok(row!(c => Event {
        id, customer_card_id, kind, stamps, balance_after, reward_id, reward_name, note,
        token_id, staff_id, staff_name, device_id, skip_notifications, created_at,
    }))
}
