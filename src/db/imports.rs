//! What imports write beside customers and cards: a card kept under the code another
//! system printed on it, the part of a card's balance imports brought, each import
//! run's progress (so a rerun resumes) and what another server's records became here.

use rusqlite::{params, Connection, OptionalExtension};

use crate::time_fmt;

/// A card found by its code: its id, its customer and its template.
pub struct CodedCard {
    pub id: i64,
    pub customer_id: i64,
    pub card_id: i64,
}

pub fn card_by_code(
    conn: &Connection,
    store_id: i64,
    code: &str,
) -> rusqlite::Result<Option<CodedCard>> {
    conn.prepare_cached(
        "SELECT id, customer_id, card_id FROM customer_cards WHERE store_id = ?1 AND code = ?2",
    )?
    .query_row(params![store_id, code], |r| {
        Ok(CodedCard {
            id: r.get(0)?,
            customer_id: r.get(1)?,
            card_id: r.get(2)?,
        })
    })
    .optional()
}

/// The customer's oldest card of a template, if any.
pub fn card_of_customer(
    conn: &Connection,
    customer_id: i64,
    card_id: i64,
) -> rusqlite::Result<Option<i64>> {
    super::one(
        conn,
        "SELECT id FROM customer_cards WHERE customer_id = ?1 AND card_id = ?2 ORDER BY id LIMIT 1",
        params![customer_id, card_id],
        |r| r.get(0),
    )
}

/// A new card of a customer under the given code, with no stamps: an import brings its
/// balance as a ledger row of its own, and no welcome bonus (the other system gave it).
pub fn insert_card(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    card_id: i64,
    code: &str,
) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    conn.prepare_cached(
        "INSERT INTO customer_cards (store_id, customer_id, card_id, code, uuid, stamps_count,
            pass_auth_token, issued_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?7, ?7)",
    )?
    .execute(params![
        store_id,
        customer_id,
        card_id,
        code,
        uuid::Uuid::new_v4().to_string(),
        super::customer_cards::pass_auth_token(),
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// A card's balance and the stamps its `import` rows brought, in all.
pub fn balance_and_imported(
    conn: &Connection,
    customer_card_id: i64,
) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT stamps_count, (SELECT coalesce(sum(stamps), 0) FROM stamp_events
            WHERE customer_card_id = ?1 AND kind = 'import')
         FROM customer_cards WHERE id = ?1",
    )?
    .query_row([customer_card_id], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// The unfinished import of this fingerprint into the store: its id and position.
pub fn unfinished(
    conn: &Connection,
    store_id: Option<i64>,
    source: &str,
    fingerprint: &str,
) -> rusqlite::Result<Option<(i64, i64, i64)>> {
    super::one(
        conn,
        "SELECT id, store_id, position FROM imports
         WHERE source = ?1 AND fingerprint = ?2 AND (?3 IS NULL OR store_id = ?3)
            AND finished_at IS NULL
         ORDER BY id DESC LIMIT 1",
        params![source, fingerprint, store_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// The store an earlier import of this fingerprint went into (finished or not).
pub fn store_of(
    conn: &Connection,
    source: &str,
    fingerprint: &str,
) -> rusqlite::Result<Option<i64>> {
    super::one(
        conn,
        "SELECT store_id FROM imports WHERE source = ?1 AND fingerprint = ?2
         ORDER BY id DESC LIMIT 1",
        params![source, fingerprint],
        |r| r.get(0),
    )
}

pub fn start(
    conn: &Connection,
    store_id: i64,
    source: &str,
    fingerprint: &str,
) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    conn.prepare_cached(
        "INSERT INTO imports (store_id, source, fingerprint, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![store_id, source, fingerprint, now])?;
    Ok(conn.last_insert_rowid())
}

/// Records how far an import got, in the transaction of the work it counts.
pub fn advance(conn: &Connection, id: i64, position: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE imports SET position = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, position, time_fmt::now()])?;
    Ok(())
}

pub fn finish(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    conn.prepare_cached("UPDATE imports SET finished_at = ?2, updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

/// What another server's record (`kind`, its id there) became in the store.
pub fn linked(
    conn: &Connection,
    store_id: i64,
    origin: &str,
    kind: &str,
    source_id: &str,
) -> rusqlite::Result<Option<i64>> {
    super::one(
        conn,
        "SELECT local_id FROM import_links
         WHERE store_id = ?1 AND origin = ?2 AND kind = ?3 AND source_id = ?4",
        params![store_id, origin, kind, source_id],
        |r| r.get(0),
    )
}

pub fn link(
    conn: &Connection,
    store_id: i64,
    origin: &str,
    kind: &str,
    source_id: &str,
    local_id: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO import_links (store_id, origin, kind, source_id, local_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![store_id, origin, kind, source_id, local_id])?;
    Ok(())
}
