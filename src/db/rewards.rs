//! Rewards: what a card's stamps pay for.

use super::{row, Columns};
use rusqlite::{Connection, OptionalExtension, Row};
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
    let mut c = Columns::of(r);
    Ok(row!(c => Reward {
        id, account_id, card_id, name, description, stamps_required, position, active,
        created_at, updated_at,
    }))
}

/// The active rewards of the given card templates, cheapest first.
pub fn active_for_cards(conn: &Connection, card_ids: &[i64]) -> rusqlite::Result<Vec<Reward>> {
    if card_ids.is_empty() {
        return Ok(Vec::new());
    }
    if let [id] = card_ids {
        // The usual case (one card template): a plain index look-up.
        let sql = format!(
            "SELECT {COLUMNS} FROM rewards
             WHERE card_id = ?1 AND active = 1 AND deleted_at IS NULL
             ORDER BY stamps_required, position, id"
        );
        return super::all(conn, &sql, [id], from_row);
    }
    let ids = serde_json::to_string(card_ids).expect("ids serialise");
    let sql = format!(
        "SELECT {COLUMNS} FROM rewards
         WHERE card_id IN (SELECT value FROM json_each(?1)) AND active = 1 AND deleted_at IS NULL
         ORDER BY stamps_required, position, id"
    );
    super::all(conn, &sql, [ids], from_row)
}

/// A card template's first active reward by position (what a poster offers when its
/// title is left to stampd).
pub fn first_active(conn: &Connection, card_id: i64) -> rusqlite::Result<Option<Reward>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rewards
         WHERE card_id = ?1 AND active = 1 AND deleted_at IS NULL
         ORDER BY position, stamps_required, id LIMIT 1"
    );
    super::one(conn, &sql, [card_id], from_row)
}

/// The attributes a client sets on a reward.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardFields {
    pub name: String,
    pub description: Option<String>,
    pub stamps_required: i64,
    pub position: i64,
    pub active: bool,
}

/// A new reward's attributes, before the client's are applied.
impl Default for RewardFields {
    fn default() -> Self {
        RewardFields {
            name: String::new(),
            description: None,
            stamps_required: 0,
            position: 0,
            active: true,
        }
    }
}

pub fn insert(
    conn: &Connection,
    store_id: i64,
    card_id: i64,
    f: &RewardFields,
) -> rusqlite::Result<i64> {
    let now = crate::time_fmt::now();
    conn.execute(
        "INSERT INTO rewards (store_id, card_id, name, description, stamps_required, position, active, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        rusqlite::params![store_id, card_id, f.name, f.description, f.stamps_required, f.position, f.active, now],
    )?;
    let id = conn.last_insert_rowid();
    // Passes list their card's rewards: each of them changed.
    changed_passes(conn, card_id)?;
    Ok(id)
}

pub fn update(conn: &Connection, id: i64, f: &RewardFields) -> rusqlite::Result<()> {
    let card_id = conn
        .prepare_cached(
            "UPDATE rewards SET name = ?2, description = ?3, stamps_required = ?4, position = ?5,
                active = ?6, updated_at = ?7 WHERE id = ?1 RETURNING card_id",
        )?
        .query_row(
            rusqlite::params![
                id,
                f.name,
                f.description,
                f.stamps_required,
                f.position,
                f.active,
                crate::time_fmt::now()
            ],
            |r| r.get(0),
        )
        .optional()?;
    match card_id {
        Some(card_id) => changed_passes(conn, card_id),
        None => Ok(()),
    }
}

/// Deletes a reward of the store; `false` when the store has no such reward. Its row
/// stays (marked), so the ledger can still name it.
pub fn delete(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    let now = crate::time_fmt::now();
    let card_id: Option<i64> = conn
        .prepare_cached(
            "UPDATE rewards SET deleted_at = ?3, updated_at = ?3
             WHERE id = ?1 AND store_id = ?2 AND deleted_at IS NULL
             RETURNING card_id",
        )?
        .query_row(rusqlite::params![id, store_id, now], |r| r.get(0))
        .optional()?;
    match card_id {
        Some(card_id) => changed_passes(conn, card_id).map(|()| true),
        None => Ok(false),
    }
}

fn changed_passes(conn: &Connection, card_id: i64) -> rusqlite::Result<()> {
    super::pass_updates::changed(conn, super::pass_updates::Changed::Card(card_id), false)
}

pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Reward>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rewards WHERE id = ?1 AND store_id = ?2 AND deleted_at IS NULL"
    );
    super::one(conn, &sql, rusqlite::params![id, store_id], from_row)
}

pub fn list(
    conn: &Connection,
    store_id: i64,
    card_id: Option<i64>,
    active: Option<bool>,
) -> rusqlite::Result<Vec<Reward>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rewards
         WHERE store_id = ?1 AND deleted_at IS NULL
           AND (?2 IS NULL OR card_id = ?2) AND (?3 IS NULL OR active = ?3)
         ORDER BY card_id, position, stamps_required, id"
    );
    super::all(
        conn,
        &sql,
        rusqlite::params![store_id, card_id, active],
        from_row,
    )
}

/// The largest stamps_required among a card's live rewards (0 when none).
pub fn max_required_for_card(conn: &Connection, card_id: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT coalesce(max(stamps_required), 0) FROM rewards WHERE card_id = ?1 AND deleted_at IS NULL",
        [card_id],
        |r| r.get(0),
    )
}
