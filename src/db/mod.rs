//! Storage: one SQLite file, one writer connection, a small pool of readers.
//!
//! Every connection gets the same pragmas. Migrations run once, on their own
//! connection, before the pools exist. Every transaction that may write starts
//! IMMEDIATE, so it takes the write lock up front instead of failing with "database is
//! locked" halfway through.
//!
//! Where things live:
//! - `open`: opening one connection, its pragmas, migrations, the checks on start;
//! - `schema`: whether a file's schema is one stampd's migrations made;
//! - `connections`: `Db`, the readers' pool and the handles of the threads below, and
//!   the CPU budget of costly reads;
//! - `writer`: the writer thread, group commit and `Db::write`;
//! - `checkpoint`: the checkpointer thread and `Db::checkpoint` (or, with
//!   `checkpoint_mode = "external"`, the watch on the WAL that leaves them to Litestream);
//! - `stats`: what the writer and the readers count for `/metrics`;
//! - `backup`, `replica`: backups, `latest.db`, and restoring either a backup or a
//!   Litestream replica;
//! - `imports`: what imports keep (codes, imported balances, progress, links);
//! - `bulk`: many-row inserts and the search index's settings for big imports;
//! - `values`: domain values (`Email`, `HexColor`, `StampIcon`, ...) as SQLite values;
//! - `outbox`: every side effect (card-link mail and texts, later pushes and webhooks)
//!   as a row per channel, for the senders of `crate::outbox`;
//! - `webhooks`: webhook subscriptions, their events (queued in the outbox by the
//!   writer at the end of each write job) and their delivery history;
//! - `card_links`: every send of card links, and the throttle that holds repeats back;
//! - `pass_updates`: what a change to a pass queues for the wallets (APNs pushes,
//!   Google Wallet updates), the one place every such change goes through;
//! - `staff`, `devices`, `flags`: who serves at the counter, the devices they sign in
//!   on, and the suspicious activity an owner reviews; `ledger_limits`: visits and the
//!   stamp limits of card templates;
//! - one module per resource (`customers`, `cards`, ...): its SQL, as plain functions
//!   on a `Connection`;
//! - here: what those modules share: running a query for one row or all rows, finding
//!   and deleting a store's row by id, and reading a row's columns in order
//!   (`Columns`, `row!`).

pub mod backup;
pub mod bulk;
pub mod card_links;
pub mod cards;
mod checkpoint;
mod connections;
pub mod customer_cards;
pub mod customer_search;
pub mod customers;
pub mod devices;
pub mod flags;
pub mod idempotency;
pub mod imports;
pub mod insights;
pub mod ledger;
pub mod ledger_limits;
pub mod locations;
mod open;
pub mod outbox;
pub mod pass_updates;
pub mod passes;
pub mod posters;
pub mod replica;
pub mod rewards;
mod schema;
pub mod staff;
mod stats;
pub mod stores;
pub mod tokens;
mod values;
pub mod webhooks;
mod writer;

pub use bulk::{insert_rows, opt_text, text};
pub use checkpoint::EXTERNAL_WAL_LIMIT;
pub use connections::{within_budget, Db, OverBudget};
pub use open::{
    configure, known_schema_version, migrate, migrate_to, open_connection, quick_check,
    startup_check, ConnectionOptions, OpenError, FULL_CHECK_BEFORE_START_BYTES,
};
pub use stats::{wait_buckets, Stats};

use rusqlite::types::FromSql;
use rusqlite::{Connection, OptionalExtension, Params, Row};

/// The row a query finds, if any; the statement is prepared once per connection.
pub fn one<T, P, F>(conn: &Connection, sql: &str, p: P, f: F) -> rusqlite::Result<Option<T>>
where
    P: Params,
    F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
{
    conn.prepare_cached(sql)?.query_row(p, f).optional()
}

/// Every row a query finds, in its order; the statement is prepared once per connection.
pub fn all<T, P, F>(conn: &Connection, sql: &str, p: P, f: F) -> rusqlite::Result<Vec<T>>
where
    P: Params,
    F: FnMut(&Row<'_>) -> rusqlite::Result<T>,
{
    conn.prepare_cached(sql)?.query_map(p, f)?.collect()
}

/// Row `id` of a store's `table`, its `columns` read by `map`.
pub fn find_of_store<T>(
    conn: &Connection,
    table: &str,
    columns: &str,
    store_id: i64,
    id: i64,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let sql = format!("SELECT {columns} FROM {table} WHERE id = ?1 AND store_id = ?2");
    one(conn, &sql, [id, store_id], map)
}

/// Deletes row `id` of a store's `table`; `false` when the store has no such row.
pub fn delete_of_store(
    conn: &Connection,
    table: &str,
    store_id: i64,
    id: i64,
) -> rusqlite::Result<bool> {
    let sql = format!("DELETE FROM {table} WHERE id = ?1 AND store_id = ?2");
    Ok(conn.prepare_cached(&sql)?.execute([id, store_id])? > 0)
}

/// The columns of a row, read one after another in the order its query names them, so
/// that a mapping from a row never counts positions by hand.
pub struct Columns<'a, 'stmt> {
    row: &'a Row<'stmt>,
    next: usize,
}

impl<'a, 'stmt> Columns<'a, 'stmt> {
    pub fn of(row: &'a Row<'stmt>) -> Self {
        Columns { row, next: 0 }
    }

    /// The next column's value.
    pub fn read<T: FromSql>(&mut self) -> rusqlite::Result<T> {
        self.next += 1;
        self.row.get(self.next - 1)
    }
}

/// A struct built from a row: `row!(c => Card { id, account_id, design: CardDesign {
/// name, ... }, archived_at })` names its fields in the order of the row's columns,
/// each read from the `Columns` `c`; a nested struct takes the columns in turn, and
/// `field = expr` gives a field that is not a column as it is (in its place, so `expr`
/// may read from `c` too).
macro_rules! row {
    ($c:ident => $ty:ident { $($fields:tt)* }) => {
        $crate::db::row!(@fields $c $ty [] $($fields)*)
    };
    (@fields $c:ident $ty:ident [$($done:tt)*]) => {
        $ty { $($done)* }
    };
    (@fields $c:ident $ty:ident [$($done:tt)*]
        $field:ident : $nested:ident { $($inner:tt)* } $(, $($rest:tt)*)?
    ) => {
        $crate::db::row!(@fields $c $ty
            [$($done)* $field: $crate::db::row!($c => $nested { $($inner)* }),]
            $($($rest)*)?)
    };
    (@fields $c:ident $ty:ident [$($done:tt)*] $field:ident = $value:expr $(, $($rest:tt)*)?) => {
        $crate::db::row!(@fields $c $ty [$($done)* $field: $value,] $($($rest)*)?)
    };
    (@fields $c:ident $ty:ident [$($done:tt)*] $field:ident $(, $($rest:tt)*)?) => {
        $crate::db::row!(@fields $c $ty [$($done)* $field: $c.read()?,] $($($rest)*)?)
    };
}
pub(crate) use row;

/// Runs one statement without parameters, prepared once per connection (transaction
/// control runs several times per request; parsing it each time would show).
pub fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Shop {
        id: i64,
        address: Address,
        note: Option<String>,
        open: bool,
    }

    #[derive(Debug, PartialEq)]
    struct Address {
        street: String,
        number: i64,
    }

    #[test]
    fn a_row_is_read_in_the_order_of_its_columns() {
        let conn = Connection::open_in_memory().unwrap();
        let read = |sql: &str| {
            one(&conn, sql, [], |r| {
                let mut cols = Columns::of(r);
                Ok(row!(cols => Shop {
                    id, address: Address { street, number }, note, open = true,
                }))
            })
        };
        let shop = read("SELECT 7, 'High Street', 12, NULL").unwrap();
        let address = Address {
            street: "High Street".into(),
            number: 12,
        };
        let expected = Shop {
            id: 7,
            address,
            note: None,
            open: true,
        };
        assert_eq!(shop, Some(expected));
        // A column of the wrong type is an error, not a value read from elsewhere.
        assert!(read("SELECT 7, 12, 'High Street', NULL").is_err());
        assert_eq!(read("SELECT 7, 'x', 1, NULL WHERE 0").unwrap(), None);
    }

    #[test]
    fn a_store_row_is_found_and_deleted_only_in_its_store() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE shelves (id INTEGER PRIMARY KEY, store_id INTEGER, label TEXT);
             INSERT INTO shelves VALUES (1, 10, 'top'), (2, 20, 'bottom');",
        )
        .unwrap();
        let label = |store_id, id| {
            find_of_store(&conn, "shelves", "label", store_id, id, |r| {
                r.get::<_, String>(0)
            })
            .unwrap()
        };
        assert_eq!(label(10, 1).as_deref(), Some("top"));
        assert_eq!(label(20, 1), None);
        assert!(!delete_of_store(&conn, "shelves", 20, 1).unwrap());
        assert!(delete_of_store(&conn, "shelves", 10, 1).unwrap());
        assert_eq!(label(10, 1), None);
        let left = all(&conn, "SELECT label FROM shelves", [], |r| {
            r.get::<_, String>(0)
        });
        assert_eq!(left.unwrap(), ["bottom"]);
    }
}

/// What unit tests of the storage modules start from.
#[cfg(test)]
pub(crate) mod testing {
    use rusqlite::Connection;

    use crate::config::Settings;

    /// A fresh, migrated database file in a temp dir (kept alive by the returned guard)
    /// with one store, "Shop"; its id.
    pub fn database_with_a_store() -> (tempfile::TempDir, Connection, i64) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("t.db");
        let settings = Settings {
            database: path.clone(),
            ..Settings::default()
        };
        let mut conn = super::open_connection(&path, &settings).expect("the database opens");
        super::migrate(&mut conn, &path).expect("it migrates");
        let store = super::stores::insert(&conn, "Shop").expect("a store");
        (dir, conn, store)
    }
}
