//! Suspicious activity for the owner: stamps a limit refused, limits an owner
//! overrode, staff members locked out by wrong PINs. Rows are only added.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{row, Columns};
use crate::time_fmt;

/// What a flag records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Refused,
    Override,
    PinLockout,
}

impl Kind {
    pub const ALL: &'static [&'static str] = &["refused", "override", "pin_lockout"];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Refused => "refused",
            Kind::Override => "override",
            Kind::PinLockout => "pin_lockout",
        }
    }
}

/// One new flag. `who` names the request that raised it.
pub struct NewFlag<'a> {
    pub store_id: i64,
    pub kind: Kind,
    pub limit_name: Option<&'a str>,
    pub message: &'a str,
    pub customer_id: Option<i64>,
    pub customer_card_id: Option<i64>,
    pub stamps: Option<i64>,
    pub who: &'a super::ledger::Who,
}

pub fn add(conn: &Connection, f: &NewFlag) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO flags (store_id, kind, limit_name, message, customer_id, customer_card_id,
            stamps, staff_id, staff_name, device_id, token_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        f.store_id,
        f.kind.as_str(),
        f.limit_name,
        f.message,
        f.customer_id,
        f.customer_card_id,
        f.stamps,
        f.who.staff_id,
        f.who.staff_name,
        f.who.device_id,
        f.who.token_id,
        time_fmt::now()
    ])?;
    Ok(conn.last_insert_rowid())
}

/// A flag as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub limit_name: Option<String>,
    pub message: String,
    pub customer_id: Option<i64>,
    pub customer_card_id: Option<i64>,
    pub stamps: Option<i64>,
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
    pub device_id: Option<i64>,
    pub created_at: String,
}

/// One page of a store's flags, newest first, and how many there are.
pub fn page(
    conn: &Connection,
    store_id: i64,
    page: i64,
    items: i64,
) -> rusqlite::Result<(Vec<Flag>, i64)> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM flags WHERE store_id = ?1")?
        .query_row([store_id], |r| r.get(0))?;
    let offset = (page - 1).saturating_mul(items);
    let rows = super::all(
        conn,
        "SELECT id, store_id, kind, limit_name, message, customer_id, customer_card_id, stamps,
                staff_id, staff_name, device_id, created_at
         FROM flags WHERE store_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        params![store_id, items, offset],
        |r| {
            let mut c = Columns::of(r);
            Ok(row!(c => Flag {
                id, account_id, kind, limit_name, message, customer_id, customer_card_id, stamps,
                staff_id, staff_name, device_id, created_at,
            }))
        },
    )?;
    Ok((rows, count))
}
