//! Stores (the API's "accounts").

use super::Columns;
use rusqlite::{params, Connection, Row};
use serde::Serialize;

use crate::time_fmt;

#[derive(Debug, Clone, Serialize)]
pub struct Store {
    pub id: i64,
    pub name: String,
    pub store_name: Option<String>,
    pub display_store_name: String,
    pub personal: bool,
    pub locations_count: i64,
    pub cards_count: i64,
    pub customers_count: i64,
    pub posters_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "s.name, s.store_name, s.id, s.locations_count, s.cards_count, s.customers_count, s.posters_count, s.created_at, s.updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Store> {
    let mut c = Columns::of(r);
    let name: String = c.read()?;
    let store_name: Option<String> = c.read()?;
    Ok(Store {
        id: c.read()?,
        display_store_name: store_name.clone().unwrap_or_else(|| name.clone()),
        name,
        store_name,
        personal: false,
        locations_count: c.read()?,
        cards_count: c.read()?,
        customers_count: c.read()?,
        posters_count: c.read()?,
        created_at: c.read()?,
        updated_at: c.read()?,
    })
}

pub fn insert(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    conn.execute(
        "INSERT INTO stores (name, created_at, updated_at) VALUES (?1, ?2, ?2)",
        params![name, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM stores", [], |r| r.get(0))
}

pub fn exists(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
}

pub fn find(conn: &Connection, id: i64) -> rusqlite::Result<Option<Store>> {
    super::one(
        conn,
        &format!("SELECT {COLUMNS} FROM stores s WHERE s.id = ?1"),
        [id],
        from_row,
    )
}

pub fn list_for_token(conn: &Connection, token_id: i64) -> rusqlite::Result<Vec<Store>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM stores s JOIN api_token_stores ts ON ts.store_id = s.id
         WHERE ts.token_id = ?1 ORDER BY s.id"
    );
    super::all(conn, &sql, [token_id], from_row)
}

pub fn list_all(conn: &Connection) -> rusqlite::Result<Vec<Store>> {
    super::all(
        conn,
        &format!("SELECT {COLUMNS} FROM stores s ORDER BY s.id"),
        [],
        from_row,
    )
}

/// The attributes a client sets on a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreFields {
    pub name: String,
    pub store_name: Option<String>,
}

/// Saves a store's names, and queues the update of every pass of it (they show the name).
pub fn update(conn: &Connection, id: i64, f: &StoreFields) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE stores SET name = ?2, store_name = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, f.name, f.store_name, time_fmt::now()],
    )?;
    super::pass_updates::changed(conn, super::pass_updates::Changed::Store(id), false)
}
