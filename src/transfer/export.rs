//! Exports as CSV, streamed row by row from one read transaction (constant memory
//! whatever the store's size): the customers with their cards — one row per card, the
//! columns the spreadsheet import reads, so an export imports into another store with
//! everything kept — and the stamp ledger, optionally between two dates.

use std::io::Write;

use rusqlite::{params, Connection};

use crate::error::{ApiError, FieldErrors};

pub const CUSTOMER_HEADERS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birthday",
    "metadata",
    "external_references",
    "card_name",
    "code",
    "stamps",
    "created_at",
];

pub const LEDGER_HEADERS: &[&str] = &[
    "id",
    "created_at",
    "customer_id",
    "customer_card_id",
    "code",
    "card_name",
    "kind",
    "stamps",
    "balance_after",
    "reward_id",
    "reward_name",
    "note",
];

fn csv_error(e: csv::Error) -> ApiError {
    ApiError::internal_in("writing the export", e)
}

/// How many rows the customers export of a store has (for progress).
pub fn customer_rows(conn: &Connection, store_id: i64) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT count(*) FROM customers c LEFT JOIN customer_cards cc ON cc.customer_id = c.id
         WHERE c.store_id = ?1 AND c.erased_at IS NULL",
        [store_id],
        |r| r.get::<_, i64>(0).map(|n| n as u64),
    )
}

/// Writes the store's customers, one row per card (a customer without cards: one row
/// with the card's columns empty); `progress` hears every 1,000 rows.
pub fn customers(
    conn: &Connection,
    store_id: i64,
    out: impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ApiError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CUSTOMER_HEADERS).map_err(csv_error)?;
    let mut stmt = conn.prepare(
        "SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.birthday,
            nullif(c.metadata, '{}'),
            (SELECT json_group_array(json_object('source', r.source, 'external_id', r.external_id,
                    'metadata', json(r.metadata)))
             FROM external_references r WHERE r.customer_id = c.id
             HAVING count(*) > 0),
            k.name, cc.code, cc.stamps_count, c.created_at
         FROM customers c
         LEFT JOIN customer_cards cc ON cc.customer_id = c.id
         LEFT JOIN cards k ON k.id = cc.card_id
         WHERE c.store_id = ?1 AND c.erased_at IS NULL
         ORDER BY c.id, cc.id",
    )?;
    let mut rows = stmt.query([store_id])?;
    write_rows(&mut rows, CUSTOMER_HEADERS.len(), &mut w, progress)
}

/// Writes each row's first `width` columns as a CSV record, then flushes; `progress`
/// hears every 1,000 rows and the total. The number of rows written.
fn write_rows(
    rows: &mut rusqlite::Rows<'_>,
    width: usize,
    w: &mut csv::Writer<impl Write>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ApiError> {
    let mut n = 0u64;
    let mut record = csv::ByteRecord::new();
    while let Some(row) = rows.next()? {
        record.clear();
        for i in 0..width {
            push(&mut record, row.get_ref(i)?);
        }
        w.write_byte_record(&record).map_err(csv_error)?;
        n += 1;
        if n.is_multiple_of(1000) {
            progress(n);
        }
    }
    w.flush()
        .map_err(|e| ApiError::internal_in("writing the export", e))?;
    progress(n);
    Ok(n)
}

/// A field of an export: text as it is, numbers written out, NULL as empty.
fn push(record: &mut csv::ByteRecord, value: rusqlite::types::ValueRef<'_>) {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => record.push_field(b""),
        ValueRef::Integer(i) => record.push_field(i.to_string().as_bytes()),
        ValueRef::Real(f) => record.push_field(f.to_string().as_bytes()),
        ValueRef::Text(t) | ValueRef::Blob(t) => record.push_field(t),
    }
}

/// The bounds of a ledger export: `from` and `to`, each a date (`YYYY-MM-DD`, `to`
/// counting its whole day) or a timestamp, either left out.
#[derive(Debug, Clone, Default)]
pub struct Period {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Period {
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, ApiError> {
        let mut errors = FieldErrors::new();
        let mut read = |name: &str, v: Option<&str>, end: bool| -> Option<String> {
            let v = v.map(str::trim).filter(|v| !v.is_empty())?;
            if crate::time_fmt::parse_date(v).is_some() {
                return Some(if end {
                    format!("{v}T23:59:59.999Z")
                } else {
                    format!("{v}T00:00:00.000Z")
                });
            }
            match crate::time_fmt::parse_timestamp(v) {
                Some(t) => Some(crate::time_fmt::format_timestamp(t)),
                None => {
                    errors.add(name, "is not a date (YYYY-MM-DD) or a timestamp");
                    None
                }
            }
        };
        let period = Period {
            from: read("from", from, false),
            to: read("to", to, true),
        };
        errors.into_result()?;
        Ok(period)
    }
}

/// Writes the store's ledger in order, within the period.
pub fn ledger(
    conn: &Connection,
    store_id: i64,
    period: &Period,
    out: impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ApiError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(LEDGER_HEADERS).map_err(csv_error)?;
    let mut stmt = conn.prepare(
        "SELECT e.id, e.created_at, cc.customer_id, e.customer_card_id, cc.code, k.name, e.kind,
            e.stamps, e.balance_after, e.reward_id, e.reward_name, e.note
         FROM stamp_events e
         JOIN customer_cards cc ON cc.id = e.customer_card_id
         JOIN cards k ON k.id = cc.card_id
         WHERE e.store_id = ?1 AND (?2 IS NULL OR e.created_at >= ?2)
            AND (?3 IS NULL OR e.created_at <= ?3)
         ORDER BY e.id",
    )?;
    let mut rows = stmt.query(params![store_id, period.from, period.to])?;
    write_rows(&mut rows, LEDGER_HEADERS.len(), &mut w, progress)
}

/// How many ledger rows the period holds (for progress).
pub fn ledger_rows(conn: &Connection, store_id: i64, period: &Period) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT count(*) FROM stamp_events WHERE store_id = ?1
            AND (?2 IS NULL OR created_at >= ?2) AND (?3 IS NULL OR created_at <= ?3)",
        params![store_id, period.from, period.to],
        |r| r.get::<_, i64>(0).map(|n| n as u64),
    )
}
