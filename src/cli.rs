//! The command line: `stampd [serve [DOMAIN...]]`, `store`, `token`, `migrate`,
//! `backup`, `restore`, `import`, `export`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::config::{Overrides, Settings};
use crate::db;

#[derive(Debug, Parser)]
#[command(
    name = "stampd",
    version,
    about = "Self-hosted loyalty stamp-card server"
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Config file (default: ./config.toml when it exists; also STAMPD_CONFIG)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database file (overrides `database` in the config)
    #[arg(long = "db", global = true, value_name = "FILE")]
    database: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default when no command is given); with domain names, over
    /// HTTPS with certificates from Let's Encrypt (`tls_domains`)
    Serve {
        /// Domain names to serve over HTTPS, e.g. shop.example.com (their DNS must point
        /// at this machine, with ports 80 and 443 open)
        #[arg(value_name = "DOMAIN")]
        domains: Vec<String>,
        /// Address and port of plain HTTP, e.g. 127.0.0.1:8080 (with HTTPS on, it
        /// redirects to HTTPS)
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<String>,
        /// Address and port of HTTPS (default 0.0.0.0:443)
        #[arg(long, value_name = "ADDR:PORT")]
        https_bind: Option<String>,
        /// Contact address for the ACME account (expiry and policy notices)
        #[arg(long, value_name = "EMAIL")]
        acme_email: Option<String>,
    },
    /// Manage stores
    #[command(subcommand)]
    Store(StoreCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Apply database migrations and exit
    Migrate,
    /// Write a consistent copy of the database (safe while stampd serves)
    Backup {
        /// The file to write (default: a new timestamped file in backup_dir)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Bring customers, cards and balances in from a spreadsheet or another server
    #[command(subcommand)]
    Import(crate::cli_transfer::ImportCommand),
    /// Write a store's customers or ledger as CSV
    #[command(subcommand)]
    Export(crate::cli_transfer::ExportCommand),
    /// Put a backup, or the database as a Litestream replica holds it, in place of the
    /// database (stampd must be stopped); the current file is moved aside, not deleted
    Restore {
        /// The backup file to restore
        #[arg(
            required_unless_present = "from_replica",
            conflicts_with = "from_replica"
        )]
        file: Option<PathBuf>,
        /// Restore from a Litestream replica instead: its URL (s3://bucket/path,
        /// sftp://user@host/path, file:///path) or the folder of a file replica
        #[arg(long, value_name = "REPLICA")]
        from_replica: Option<String>,
        /// With --from-replica: the point in time to restore, e.g. 2026-11-26T14:05:00Z
        /// (default: the latest the replica holds)
        #[arg(long, value_name = "TIME", requires = "from_replica")]
        timestamp: Option<String>,
        /// With --from-replica: the litestream executable
        #[arg(
            long,
            value_name = "PATH",
            default_value = "litestream",
            requires = "from_replica"
        )]
        litestream: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Create a store; prints its id
    Create {
        #[arg(long)]
        name: String,
    },
    /// List stores
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for one or more stores; prints the token (shown only once)
    Create {
        /// Store id the token may reach (repeat for several)
        #[arg(long = "account", value_name = "ID", required = true)]
        accounts: Vec<i64>,
        /// A label to recognise the token by
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never shows the tokens themselves)
    List,
    /// Revoke a token by id
    Revoke { id: i64 },
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    // Before anything is created: files and folders are stampd's user's alone.
    crate::files::restrict_umask();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("stampd: error: {message}");
            1
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let mut overrides = Overrides {
        config: cli.global.config.clone(),
        database: cli.global.database.clone(),
        ..Overrides::default()
    };
    if let Some(Command::Serve {
        domains,
        bind,
        https_bind,
        acme_email,
    }) = &cli.command
    {
        overrides.tls_domains = domains.clone();
        overrides.bind = bind.clone();
        overrides.https_bind = https_bind.clone();
        overrides.acme_email = acme_email.clone();
    }
    let settings = Settings::load(&overrides).map_err(|e| e.to_string())?;
    let command = cli.command.unwrap_or(Command::Serve {
        domains: Vec::new(),
        bind: None,
        https_bind: None,
        acme_email: None,
    });
    match command {
        Command::Serve { .. } => serve(settings),
        Command::Backup { out } => {
            let conn = open(&settings)?;
            let out =
                out.unwrap_or_else(|| settings.backup_dir.join(db::backup::timestamped_name()));
            db::backup::backup(&conn, &out).map_err(|e| e.to_string())?;
            println!("{}", out.display());
            Ok(())
        }
        Command::Restore {
            file,
            from_replica,
            timestamp,
            litestream,
        } => {
            let database = settings.database_path();
            let (moved, source) = match (file, from_replica) {
                (Some(file), _) => (
                    db::backup::restore(&file, database),
                    file.display().to_string(),
                ),
                (None, Some(replica)) => {
                    let how = db::replica::ReplicaRestore {
                        litestream: &litestream,
                        replica: &replica,
                        timestamp: timestamp.as_deref(),
                    };
                    let at = timestamp.as_deref().unwrap_or("its latest");
                    (
                        db::replica::restore(&how, database),
                        format!("replica {replica} (as of {at})"),
                    )
                }
                (None, None) => return Err("name a backup FILE or --from-replica".into()),
            };
            if let Some(old) = moved.map_err(|e| e.to_string())? {
                eprintln!("the previous database was moved to {}", old.display());
            }
            println!("restored {source} to {}", database.display());
            Ok(())
        }
        Command::Import(command) => {
            let conn = open(&settings)?;
            crate::cli_transfer::import(conn, &settings, command)
        }
        Command::Export(command) => {
            let conn = open(&settings)?;
            crate::cli_transfer::export(conn, command)
        }
        Command::Migrate => {
            open(&settings)?;
            println!("database {} is up to date", settings.database.display());
            Ok(())
        }
        Command::Store(StoreCommand::Create { name }) => {
            let name = name.trim();
            if name.is_empty() {
                return Err("--name can't be blank".into());
            }
            crate::domain::check_name(name).map_err(|m| format!("--name {m}"))?;
            let conn = open(&settings)?;
            let id = db::stores::insert(&conn, name).map_err(|e| e.to_string())?;
            println!("{id}");
            Ok(())
        }
        Command::Store(StoreCommand::List) => {
            let conn = open(&settings)?;
            let stores = db::stores::list_all(&conn).map_err(|e| e.to_string())?;
            println!(
                "{:<6} {:<30} {:>10} {:>6}  created",
                "id", "name", "customers", "cards"
            );
            for s in stores {
                println!(
                    "{:<6} {:<30} {:>10} {:>6}  {}",
                    s.id, s.display_store_name, s.customers_count, s.cards_count, s.created_at
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { accounts, name }) => {
            let mut conn = open(&settings)?;
            let token = create_token(&mut conn, &accounts, name.as_deref())?;
            println!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::List) => {
            let conn = open(&settings)?;
            let tokens = db::tokens::list(&conn).map_err(|e| e.to_string())?;
            println!(
                "{:<6} {:<20} {:<12} {:<26} {:<26} status",
                "id", "label", "stores", "created", "last used"
            );
            for t in tokens {
                let stores = t
                    .store_ids
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                println!(
                    "{:<6} {:<20} {:<12} {:<26} {:<26} {}",
                    t.id,
                    t.name.as_deref().unwrap_or("-"),
                    stores,
                    t.created_at,
                    t.last_used_at.as_deref().unwrap_or("never"),
                    t.revoked_at
                        .map(|r| format!("revoked {r}"))
                        .unwrap_or_else(|| "active".into())
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let conn = open(&settings)?;
            if db::tokens::revoke(&conn, id).map_err(|e| e.to_string())? {
                println!("token {id} revoked");
                Ok(())
            } else {
                Err(format!(
                    "there is no active token with id {id} (see `stampd token list`)"
                ))
            }
        }
    }
}

pub(crate) fn open(settings: &Settings) -> Result<rusqlite::Connection, String> {
    let path = settings.database_path();
    let mut conn = db::open_connection(path, settings).map_err(|e| e.to_string())?;
    db::migrate(&mut conn, path).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Creates a token for existing stores; returns the token (its only appearance).
pub fn create_token(
    conn: &mut rusqlite::Connection,
    stores: &[i64],
    name: Option<&str>,
) -> Result<String, String> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    for id in stores {
        if !db::stores::exists(&tx, *id).map_err(|e| e.to_string())? {
            return Err(format!(
                "store {id} does not exist (see `stampd store list`, or create one with `stampd store create --name NAME`)"
            ));
        }
    }
    let token = crate::tokens::generate();
    db::tokens::insert(&tx, &crate::tokens::hash(&token), name, stores)
        .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(token)
}

fn serve(settings: Settings) -> Result<(), String> {
    let level = settings.log_level;
    crate::logging::init(level);
    let _lock = db::backup::ServeLock::try_acquire(settings.database_path())
        .map_err(|e| {
            format!(
                "cannot create the lock file beside {}: {e}",
                settings.database_path().display()
            )
        })?
        .ok_or_else(|| {
            format!(
                "another stampd is already serving {}; stop it first or use another --db",
                settings.database_path().display()
            )
        })?;
    let first_run = first_run_setup(&settings)?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings.clone()).map_err(|e| e.to_string())?;
        let base = app.public_url().to_string();
        match app.redirect_addr() {
            Some(plain) => log::info!(
                "stampd {} listening on https://{} (and on http://{plain}, which redirects to it); public links start with {base}",
                env!("CARGO_PKG_VERSION"),
                app.addr()
            ),
            None => log::info!(
                "stampd {} listening on http://{}",
                env!("CARGO_PKG_VERSION"),
                app.addr()
            ),
        }
        let unreachable = crate::domain::links::unreachable_by_phones(
            settings.public_url.as_deref(),
            &base,
        );
        if let Some(why) = &unreachable {
            log::warn!("{why}");
        }
        if let Some((store_id, token)) = first_run {
            println!(
                "\nFirst start: created store {store_id} \"My Store\" and an API token.\n\
                 The token is shown only this once; keep it somewhere safe:\n\n    {token}\n\n\
                 Try it:\n\n    curl -H \"Authorization: Bearer {token}\" {base}/api/v1/accounts\n"
            );
            if let Some(why) = &unreachable {
                println!("Before customers scan their first card: {why}.\n");
            }
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// On a database without stores, creates "My Store" and a token for it.
fn first_run_setup(settings: &Settings) -> Result<Option<(i64, String)>, String> {
    let mut conn = open(settings)?;
    if db::stores::count(&conn).map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let store_id = db::stores::insert(&conn, "My Store").map_err(|e| e.to_string())?;
    let token = create_token(&mut conn, &[store_id], Some("first token"))?;
    Ok(Some((store_id, token)))
}
