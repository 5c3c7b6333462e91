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
//! - `checkpoint`: the checkpointer thread and `Db::checkpoint`;
//! - `bulk`: many-row inserts and the search index's settings for big imports;
//! - `values`: domain values (`Email`, `HexColor`, `StampIcon`, ...) as SQLite values;
//! - `outbox`: every side effect (card-link mail and texts, later pushes and webhooks)
//!   as a row per channel, for the senders of `crate::outbox`;
//! - `card_links`: every send of card links, and the throttle that holds repeats back;
//! - one module per resource (`customers`, `cards`, ...): its SQL, as plain functions
//!   on a `Connection`.

pub mod backup;
pub mod bulk;
pub mod card_links;
pub mod cards;
mod checkpoint;
mod connections;
pub mod customer_cards;
pub mod customers;
pub mod idempotency;
pub mod ledger;
pub mod locations;
mod open;
pub mod outbox;
pub mod passes;
pub mod posters;
pub mod rewards;
mod schema;
pub mod stores;
pub mod tokens;
mod values;
mod writer;

pub use bulk::{insert_rows, opt_text, text};
pub use connections::{within_budget, Db, OverBudget};
pub use open::{
    configure, known_schema_version, migrate, migrate_to, open_connection, quick_check,
    startup_check, ConnectionOptions, OpenError, FULL_CHECK_BEFORE_START_BYTES,
};

use rusqlite::Connection;

/// Runs one statement without parameters, prepared once per connection (transaction
/// control runs several times per request; parsing it each time would show).
pub fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}
