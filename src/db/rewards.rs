//! Rewards: what a card's stamps pay for.

use rusqlite::{Connection, Row};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Reward {
    pub id: i64,
    pub account_id: i64,
    pub card_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub stamps_required: i64,
    pub position: i64,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

pub const COLUMNS: &str =
    "id, store_id, card_id, name, description, stamps_required, position, active, created_at, updated_at";

pub fn from_row(r: &Row) -> rusqlite::Result<Reward> {
    Ok(Reward {
        id: r.get(0)?,
        account_id: r.get(1)?,
        card_id: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        stamps_required: r.get(5)?,
        position: r.get(6)?,
        active: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

/// The active rewards of the given card templates, cheapest first.
pub fn active_for_cards(conn: &Connection, card_ids: &[i64]) -> rusqlite::Result<Vec<Reward>> {
    if card_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(card_ids).expect("ids serialise");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM rewards
         WHERE card_id IN (SELECT value FROM json_each(?1)) AND active = 1 AND deleted_at IS NULL
         ORDER BY stamps_required, position, id"
    ))?;
    let rows = stmt.query_map([ids], from_row)?;
    rows.collect()
}
