//! Moving a shop in and out: importing customers, cards and balances from a spreadsheet
//! (`table`, `apply`) or from another server speaking the Leal v1 API (`leal`),
//! exporting customers and the ledger as CSV (`export`), and the progress the command
//! line shows while it works (`progress`).
//!
//! An import commits in batches, each a job of its own on the writer (or, from the
//! command line, a transaction of its own), so stamps at the counter are answered
//! between them; each batch records how far the import got in the same transaction, so
//! the same import run again resumes after the last batch committed.

pub mod apply;
pub mod export;
pub mod leal;
pub mod progress;
pub mod table;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::db::{self, Db};
use crate::error::ApiError;
pub use apply::Report;
use apply::{Incoming, Target};

/// Customers written per batch (per commit): small enough that a batch holds the writer
/// for a few tens of milliseconds, so stamps wait little, big enough that the commits'
/// syncs cost little.
pub const BATCH_ROWS: usize = 200;

/// Where an import's batches are written.
pub trait Sink {
    /// Runs `f` as one committed unit of work.
    fn write<T, F>(&mut self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static;
}

/// The server's writer: each batch is one job, between the requests' groups.
impl Sink for &Db {
    fn write<T, F>(&mut self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        Db::write(self, f)
    }
}

/// A connection of its own (the command line): each batch is an IMMEDIATE transaction,
/// so a server running on the same file writes between them.
impl Sink for Connection {
    fn write<T, F>(&mut self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let tx = self.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file, its columns or the options: what to fix.
    #[error("{0}")]
    Input(String),
    /// The source server could not be read (after retries).
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Db(#[from] ApiError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Db(e.into())
    }
}

/// A spreadsheet import's options.
#[derive(Debug, Clone)]
pub struct CsvImport {
    pub store_id: i64,
    /// The card the stamps and codes of rows that name no card are on.
    pub card_id: Option<i64>,
    /// `column=Header` pairs laid over the columns found by name.
    pub mapping: Vec<(String, String)>,
    pub dry_run: bool,
    pub country: phonenumber::country::Id,
}

/// The first rows of a file as the import reads them, and how its headers map.
#[derive(Debug, serde::Serialize)]
pub struct Preview {
    pub separator: String,
    pub columns: Vec<PreviewColumn>,
    pub rows: Vec<Vec<String>>,
    pub total_rows: u64,
}

#[derive(Debug, serde::Serialize)]
pub struct PreviewColumn {
    pub header: String,
    /// The column it is read as; `null`: not read.
    pub column: Option<&'static str>,
}

/// The file's header mapping and its first `n` rows, as text.
pub fn preview(
    path: &Path,
    mapping: &[(String, String)],
    n: usize,
) -> Result<Preview, ImportError> {
    let head = head_of(path)?;
    let sep = table::separator(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head));
    let rows = table::Rows::new(open(path)?, &head, mapping, phonenumber::country::Id::US)
        .map_err(ImportError::Input)?;
    let columns = rows
        .mapping
        .describe()
        .into_iter()
        .map(|(header, column)| PreviewColumn { header, column })
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .flexible(true)
        .from_reader(open(path)?);
    let mut first = Vec::new();
    let mut total = 0;
    for record in reader.byte_records() {
        let record =
            record.map_err(|e| ImportError::Input(format!("the file cannot be read: {e}")))?;
        if first.len() < n {
            first.push(
                record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            );
        }
        total += 1;
    }
    Ok(Preview {
        separator: (sep as char).to_string(),
        columns,
        rows: first,
        total_rows: total,
    })
}

fn open(path: &Path) -> Result<BufReader<File>, ImportError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(256 * 1024, f))
        .map_err(|e| ImportError::Input(format!("cannot read {}: {e}", path.display())))
}

fn head_of(path: &Path) -> Result<Vec<u8>, ImportError> {
    let mut head = Vec::with_capacity(8192);
    open(path)?
        .take(8192)
        .read_to_end(&mut head)
        .map_err(|e| ImportError::Input(format!("cannot read {}: {e}", path.display())))?;
    Ok(head)
}

/// The file's hash with the options that change what its rows mean, and its row count.
fn fingerprint(path: &Path, import: &CsvImport) -> Result<(String, u64), ImportError> {
    let mut hash = Sha256::new();
    let mut file = open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut lines = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| ImportError::Input(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        hash.update(&buf[..n]);
    }
    hash.update(format!(
        "\0card={:?}\0map={:?}",
        import.card_id, import.mapping
    ));
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, lines))
}

/// Imports a CSV file into a store in batches through `sink`; `progress` hears the
/// rows done and an estimate of all of them. Rows a rerun finds done are skipped.
pub fn import_csv<S: Sink>(
    sink: &mut S,
    path: &Path,
    import: &CsvImport,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, ImportError> {
    let head = head_of(path)?;
    let mut rows = table::Rows::new(open(path)?, &head, &import.mapping, import.country)
        .map_err(ImportError::Input)?;
    let (fingerprint, lines) = fingerprint(path, import)?;
    let target = Target {
        store_id: import.store_id,
        default_card: import.card_id,
        reference_source: "csv".into(),
    };
    if let Some(card_id) = import.card_id {
        let store_id = import.store_id;
        let found = sink.write(move |conn| Ok(db::cards::find(conn, store_id, card_id)?))?;
        if found.is_none() {
            return Err(ImportError::Input(format!(
                "card {card_id} is not a card of store {store_id}"
            )));
        }
    }
    let (import_id, done) = if import.dry_run {
        (0, 0)
    } else {
        let (store_id, fp) = (import.store_id, fingerprint.clone());
        sink.write(move |conn| {
            Ok(
                match db::imports::unfinished(conn, Some(store_id), "csv", &fp)? {
                    Some((id, _, position)) => (id, position),
                    None => (db::imports::start(conn, store_id, "csv", &fp)?, 0),
                },
            )
        })?
    };
    rows.skip(done as u64).map_err(ImportError::Input)?;
    let mut report = Report {
        dry_run: import.dry_run,
        resumed_after: done as u64,
        ..Report::default()
    };
    let total = lines.saturating_sub(1).max(done as u64);
    let mut position = done;
    progress(position as u64, total);
    loop {
        let mut batch: Vec<Incoming> = Vec::with_capacity(BATCH_ROWS);
        while batch.len() < BATCH_ROWS {
            match rows.next_row().map_err(ImportError::Input)? {
                Some(row) => batch.push(row),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        position += batch.len() as i64;
        let (target, dry) = (target.clone(), import.dry_run);
        let part =
            sink.write(move |conn| write_batch(conn, &target, &batch, dry, import_id, position))?;
        report.add(part);
        progress(position as u64, total);
    }
    if !import.dry_run {
        sink.write(move |conn| Ok(db::imports::finish(conn, import_id)?))?;
    }
    Ok(report)
}

/// One batch: written and counted, or (dry run) written, counted and undone.
pub(crate) fn write_batch(
    conn: &Connection,
    target: &Target,
    batch: &[Incoming],
    dry_run: bool,
    import_id: i64,
    position: i64,
) -> Result<Report, ApiError> {
    let report = if dry_run {
        db::exec(conn, "SAVEPOINT dry_run")?;
        let report = apply::batch(conn, target, batch);
        db::exec(conn, "ROLLBACK TO dry_run")?;
        db::exec(conn, "RELEASE dry_run")?;
        report
    } else {
        let report = apply::batch(conn, target, batch)?;
        db::imports::advance(conn, import_id, position)?;
        Ok(report)
    };
    // An import is not customers signing up or stamps at the counter: the changes it
    // made fire no webhooks.
    db::webhooks::events::discard();
    report
}
