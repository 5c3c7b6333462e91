//! The command line's `import` and `export`: the options, the progress shown while
//! they run, and the summary printed when they are done.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::transfer::{self, progress::Progress, Report};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import customers (and their stamps and card codes) from a CSV file
    Csv {
        /// The CSV file (UTF-8 with or without BOM, `,` or `;` separated)
        file: PathBuf,
        #[command(flatten)]
        common: ImportArgs,
        /// The card the rows' stamps and codes are on (unless a card_name column says)
        #[arg(long, value_name = "ID")]
        card: Option<i64>,
        /// Read a column from a header of another name, e.g. --map email="E-Mail Address"
        /// (repeat for several)
        #[arg(long = "map", value_name = "COLUMN=HEADER")]
        map: Vec<String>,
    },
    /// Import a store from another server speaking the Leal v1 API
    Leal {
        /// The source's base URL, e.g. https://app.getleal.com
        #[arg(long)]
        url: String,
        /// An API token of the source
        #[arg(long)]
        token: String,
        /// The store (account) id at the source
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// The store here to import into (default: a new store, or the one an earlier
        /// import of the same source went into)
        #[arg(long, value_name = "STORE_ID")]
        into: Option<i64>,
        /// Report what would be done without writing anything
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// No progress lines
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store to import into
    #[arg(long = "account", value_name = "ID")]
    account: i64,
    /// Report what would be done without writing anything
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// No progress lines
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Customers with their cards, one row per card (imports back with `import csv`)
    Customers {
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// The file to write (default: standard output)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// The stamp ledger, oldest first
    Ledger {
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// From this date (YYYY-MM-DD) or time on
        #[arg(long)]
        from: Option<String>,
        /// Up to this date (its whole day) or time
        #[arg(long)]
        to: Option<String>,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, short)]
        quiet: bool,
    },
}

pub fn import(
    mut conn: rusqlite::Connection,
    settings: &Settings,
    command: ImportCommand,
) -> Result<(), String> {
    let (report, json) = match command {
        ImportCommand::Csv {
            file,
            common,
            card,
            map,
        } => {
            store_exists(&conn, common.account)?;
            let mut mapping = Vec::new();
            for pair in &map {
                let (column, header) = pair.split_once('=').ok_or_else(|| {
                    format!("--map {pair}: write COLUMN=HEADER, e.g. email=\"E-Mail\"")
                })?;
                mapping.push((column.trim().to_string(), header.trim().to_string()));
            }
            let options = transfer::CsvImport {
                store_id: common.account,
                card_id: card,
                mapping,
                dry_run: common.dry_run,
                country: settings.default_country,
            };
            let mut progress = Progress::new("importing", "rows", 0, common.quiet);
            let report = transfer::import_csv(&mut conn, &file, &options, &mut |done, total| {
                progress.set_total(total);
                progress.set(done);
            })
            .map_err(|e| e.to_string())?;
            progress.finish();
            (report, common.json)
        }
        ImportCommand::Leal {
            url,
            token,
            account,
            into,
            dry_run,
            json,
            quiet,
        } => {
            if let Some(id) = into {
                store_exists(&conn, id)?;
            }
            let source = transfer::leal::Source::new(&url, &token, account);
            let mut progress = Progress::new("importing", "customers", 0, quiet);
            let options = transfer::leal::LealImport {
                into,
                dry_run,
                country: settings.default_country,
            };
            let (store_id, report) =
                transfer::leal::import(&mut conn, &source, &options, &mut |done, total| {
                    progress.set_total(total);
                    progress.set(done);
                })
                .map_err(|e| e.to_string())?;
            progress.finish();
            if !json {
                println!("store {store_id}");
            }
            (report, json)
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_summary(&report);
    }
    Ok(())
}

fn store_exists(conn: &rusqlite::Connection, id: i64) -> Result<(), String> {
    if crate::db::stores::exists(conn, id).map_err(|e| e.to_string())? {
        Ok(())
    } else {
        Err(format!(
            "store {id} does not exist (see `stampd store list`)"
        ))
    }
}

fn print_summary(r: &Report) {
    let would = if r.dry_run {
        "dry run, nothing written: "
    } else {
        ""
    };
    println!(
        "{would}{} rows: created {}, updated {}, unchanged {}, skipped {}; {} cards created, {} stamps imported",
        r.rows,
        r.created,
        r.updated,
        r.unchanged,
        r.skipped.len(),
        r.cards_created,
        r.stamps_imported
    );
    if r.resumed_after > 0 {
        println!(
            "resumed after the {} rows an earlier run had done",
            r.resumed_after
        );
    }
    for s in &r.skipped {
        let why: Vec<String> = s
            .errors
            .iter()
            .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field} {m}")))
            .collect();
        println!("skipped line {}: {}", s.line, why.join("; "));
    }
}

pub fn export(conn: rusqlite::Connection, command: ExportCommand) -> Result<(), String> {
    let tx = conn.unchecked_transaction().map_err(|e| e.to_string())?;
    let (out, quiet) = match &command {
        ExportCommand::Customers { out, quiet, .. } | ExportCommand::Ledger { out, quiet, .. } => {
            (out.clone(), *quiet)
        }
    };
    let writer: Box<dyn std::io::Write> = match &out {
        Some(path) => Box::new(std::io::BufWriter::new(
            crate::files::create_new(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let n = match command {
        ExportCommand::Customers { account, .. } => {
            store_exists(&tx, account)?;
            let total = transfer::export::customer_rows(&tx, account).map_err(|e| e.to_string())?;
            let mut progress = Progress::new("exporting", "rows", total, quiet);
            let n = transfer::export::customers(&tx, account, writer, &mut |n| progress.set(n))
                .map_err(|e| crate::error::Chain(&e).to_string())?;
            progress.finish();
            n
        }
        ExportCommand::Ledger {
            account, from, to, ..
        } => {
            store_exists(&tx, account)?;
            let period = transfer::export::Period::parse(from.as_deref(), to.as_deref())
                .map_err(|e| format!("--from/--to: {}", crate::error::Chain(&e)))?;
            let total =
                transfer::export::ledger_rows(&tx, account, &period).map_err(|e| e.to_string())?;
            let mut progress = Progress::new("exporting", "rows", total, quiet);
            let n =
                transfer::export::ledger(&tx, account, &period, writer, &mut |n| progress.set(n))
                    .map_err(|e| crate::error::Chain(&e).to_string())?;
            progress.finish();
            n
        }
    };
    if let Some(path) = out {
        eprintln!("wrote {n} rows to {}", path.display());
    }
    Ok(())
}
