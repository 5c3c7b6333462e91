//! A store's locations (shops), shown on its wallet passes.

use super::{row, Columns};
use rusqlite::{params, Connection, Row};
use serde::Serialize;

use crate::time_fmt;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Location {
    pub id: i64,
    pub account_id: i64,
    #[serde(flatten)]
    pub fields: LocationFields,
    pub created_at: String,
    pub updated_at: String,
}

/// The attributes a client sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LocationFields {
    pub name: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

const COLUMNS: &str = "id, store_id, name, address, latitude, longitude, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Location> {
    let mut c = Columns::of(r);
    Ok(row!(c => Location {
        id, account_id,
        fields: LocationFields { name, address, latitude, longitude },
        created_at, updated_at,
    }))
}

pub fn insert(conn: &Connection, store_id: i64, f: &LocationFields) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO locations (store_id, name, address, latitude, longitude, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![store_id, f.name, f.address, f.latitude, f.longitude, time_fmt::now()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, f: &LocationFields) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE locations SET name = ?2, address = ?3, latitude = ?4, longitude = ?5, updated_at = ?6
         WHERE id = ?1",
        params![id, f.name, f.address, f.latitude, f.longitude, time_fmt::now()],
    )?;
    Ok(())
}

/// Deletes a location of the store; `false` when the store has no such location.
pub fn delete(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    super::delete_of_store(conn, "locations", store_id, id)
}

pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Location>> {
    super::find_of_store(conn, "locations", COLUMNS, store_id, id, from_row)
}

pub fn list(conn: &Connection, store_id: i64) -> rusqlite::Result<Vec<Location>> {
    let sql = format!("SELECT {COLUMNS} FROM locations WHERE store_id = ?1 ORDER BY id");
    super::all(conn, &sql, [store_id], from_row)
}
