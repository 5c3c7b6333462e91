//! Bulk import: many rows per statement, and the search index's settings while a big
//! import runs.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection};

/// Inserts many rows with one statement: `into` is `table (column, ...)` and `values`
/// holds the rows one after another, `width` values each. Returns the new rows' ids
/// in the order given (each row gets the next rowid, so ascending ids are the rows in
/// order). For imports: one statement for many rows saves more than parsing, as the
/// search index writes what one statement adds as one segment.
pub fn insert_rows(
    conn: &Connection,
    into: &str,
    width: usize,
    values: &[ToSqlOutput<'_>],
) -> rusqlite::Result<Vec<i64>> {
    let row = format!("({})", vec!["?"; width].join(", "));
    let rows = vec![row.as_str(); values.len() / width].join(", ");
    let mut ids = conn
        .prepare_cached(&format!("INSERT INTO {into} VALUES {rows} RETURNING id"))?
        .query_map(rusqlite::params_from_iter(values), |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// A text value bound without a copy of its own (import rows borrow their strings).
pub fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

/// [`text`] for a value that may be absent (NULL).
pub fn opt_text(s: Option<&str>) -> ToSqlOutput<'_> {
    s.map_or(ToSqlOutput::Borrowed(ValueRef::Null), text)
}

/// Prepares the customer search index for a bulk import of many customers in big
/// transactions: index entries are kept in memory until each commit (up to 256 MB),
/// written in FTS5's default 4,050-byte pages (fewer pages to write), and segments are
/// not merged along the way. [`end_bulk_import`] undoes it.
pub fn begin_bulk_import(conn: &Connection) -> rusqlite::Result<()> {
    search_index_setting(conn, "hashsize", 256 * 1024 * 1024)?;
    search_index_setting(conn, "pgsz", FTS5_DEFAULT_PAGE_SIZE)?;
    search_index_setting(conn, "automerge", 0)
}

/// Restores the search index's usual settings after a bulk import and merges the
/// index into one segment of small pages (see the V3 migration), so a fragment search
/// reads one list per trigram instead of one per segment (it rewrites the whole index:
/// seconds at a million customers).
pub fn end_bulk_import(conn: &Connection) -> rusqlite::Result<()> {
    search_index_setting(conn, "hashsize", 1024 * 1024)?;
    search_index_setting(conn, "pgsz", SEARCH_PAGE_SIZE)?;
    search_index_setting(conn, "automerge", 4)?;
    conn.execute(
        "INSERT INTO customer_search(customer_search) VALUES ('optimize')",
        [],
    )?;
    Ok(())
}

/// The search index's leaf page size in bytes, as the V3 migration sets it.
const SEARCH_PAGE_SIZE: i64 = 1000;

/// FTS5's own leaf page size, which a bulk import writes its segments in.
const FTS5_DEFAULT_PAGE_SIZE: i64 = 4050;

fn search_index_setting(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO customer_search(customer_search, rank) VALUES (?1, ?2)",
        params![name, value],
    )?;
    Ok(())
}
