//! stampd's load benchmark: builds a large dataset through stampd's storage code,
//! serves it with the real binary, drives HTTP/1.1 keep-alive load over loopback, and
//! compares every endpoint with a bare-metal baseline measured in the same run.
//!
//!     cargo bench --bench load                       # 1,000,000 customers
//!     STAMPD_BENCH_CUSTOMERS=100000 cargo bench --bench load
//!
//! The last rows stamp with live wallet cards: every card saved on one device, APNs and
//! Google Wallet configured against local stand-ins (`tests/support/wallet_stand_ins.rs`),
//! beside the plain stamp row measured again just before on the same database.
//!
//! Settings (environment): STAMPD_BENCH_CUSTOMERS (default 1000000),
//! STAMPD_BENCH_CONNECTIONS (32), STAMPD_BENCH_SECONDS per endpoint (5),
//! STAMPD_BENCH_REQUESTS per endpoint at most (50000), STAMPD_BENCH_DIR (a temp dir),
//! STAMPD_BENCH_KEEP (keep the dir), STAMPD_BENCH_BUILD_ONLY (stop after the dataset),
//! STAMPD_BENCH_WALLETS_ONLY (only the rows of stamps with and without wallets).
//! Prints a Markdown table and writes target/bench/load.json.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use r2d2_sqlite::SqliteConnectionManager;
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use stampd::config::{Settings, Synchronous};
use stampd::db;
use stampd::domain::{Email, Phone};

#[path = "../tests/support/apple_chain.rs"]
mod apple_chain;
#[path = "../tests/support/wallet_stand_ins.rs"]
mod wallet_stand_ins;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Config {
    customers: u64,
    connections: usize,
    seconds: u64,
    max_requests: u64,
    dir: PathBuf,
}

/// What the dataset holds that the load needs to pick from.
struct Dataset {
    store_id: i64,
    card_id: i64,
    reward_id: i64,
    customers: i64,
    first_customer: i64,
    token: String,
}

fn main() {
    let cfg = Config {
        customers: env_num("STAMPD_BENCH_CUSTOMERS", 1_000_000),
        connections: env_num("STAMPD_BENCH_CONNECTIONS", 32) as usize,
        seconds: env_num("STAMPD_BENCH_SECONDS", 5),
        max_requests: env_num("STAMPD_BENCH_REQUESTS", 50_000),
        dir: std::env::var("STAMPD_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                std::env::temp_dir().join(format!("stampd-bench-{}", std::process::id()))
            }),
    };
    std::fs::create_dir_all(&cfg.dir).expect("bench dir");
    let db_path = cfg.dir.join("bench.db");
    let _ = std::fs::remove_file(&db_path);

    eprintln!(
        "building {} customers in {} ...",
        cfg.customers,
        db_path.display()
    );
    let t = Instant::now();
    let data = build_dataset(&db_path, cfg.customers);
    let build_secs = t.elapsed().as_secs_f64();
    let db_mb = std::fs::metadata(&db_path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    eprintln!("built in {build_secs:.1} s ({db_mb:.0} MB)");
    if std::env::var("STAMPD_BENCH_BUILD_ONLY").is_ok() {
        return;
    }

    let mut rows: Vec<Row> = Vec::new();
    let mut summary = json!({
        "customers": cfg.customers,
        "connections": cfg.connections,
        "dataset_build_seconds": build_secs,
        "database_mb": db_mb,
        "machine": machine(),
    });

    let everything = std::env::var("STAMPD_BENCH_WALLETS_ONLY").is_err();
    let syncs: &[Synchronous] = if everything {
        &[Synchronous::Full, Synchronous::Normal]
    } else {
        &[]
    };
    // Baselines: the thinnest actix-web handlers through r2d2 + web::block.
    for &sync in syncs {
        let base = Baseline::start(&db_path, &cfg.dir, sync);
        let read = run_load(
            &cfg,
            &format!("baseline read ({})", sync.as_pragma()),
            |rng| {
                let id = data.first_customer + rng.random_range(0..data.customers);
                Req::get(base.addr, &format!("/read/{id}"), None)
            },
        );
        let write = run_load(
            &cfg,
            &format!("baseline insert ({})", sync.as_pragma()),
            |_| Req::post(base.addr, "/write", None, "{}".into()),
        );
        rows.push(read);
        rows.push(write);
        base.stop();
    }

    let mut peak_rss_kb = 0;
    let mut worst_searches: Option<Beside> = None;
    let mut startup = 0.0;
    let mut check = 0.0;
    for &sync in syncs {
        let server = Server::start(&stampd_binary(), &db_path, &cfg.dir, sync, "");
        if sync == Synchronous::Full {
            startup = server.startup_secs;
            check = server.check_secs;
        }
        let tok = data.token.clone();
        let s = data.store_id;
        let addr = server.addr;
        let auth = Some(tok.as_str());
        let card_ids = Arc::new(CardIds::load(&db_path, data.first_customer, data.customers));
        let label = |name: &str| format!("{name} ({})", sync.as_pragma());
        if sync == Synchronous::Full {
            rows.push(run_load(&cfg, "customer show", |rng| {
                let id = data.first_customer + rng.random_range(0..data.customers);
                Req::get(addr, &format!("/api/v1/accounts/{s}/customers/{id}"), auth)
            }));
            rows.push(run_load(&cfg, "customer list page 1", |_| {
                Req::get(addr, &format!("/api/v1/accounts/{s}/customers"), auth)
            }));
            rows.push(run_load(&cfg, "list page 400", |_| {
                Req::get(
                    addr,
                    &format!("/api/v1/accounts/{s}/customers?page=400"),
                    auth,
                )
            }));
            rows.push(run_load(&cfg, "search name fragment", |rng| {
                let n = rng.random_range(0..data.customers as u64);
                let ln = last_name(n);
                // Six characters from the third (fewer for the first ten customers).
                let fragment = &ln[2..ln.len().min(8)];
                Req::get(
                    addr,
                    &format!("/api/v1/accounts/{s}/customers?search={fragment}"),
                    auth,
                )
            }));
            rows.push(run_load(&cfg, "search exact email", |rng| {
                let n = rng.random_range(0..data.customers as u64);
                Req::get(
                    addr,
                    &format!("/api/v1/accounts/{s}/customers?search={}", email(n)),
                    auth,
                )
            }));
            rows.push(run_load(&cfg, "search exact phone", |rng| {
                let n = rng.random_range(0..data.customers as u64);
                // The whole number as stored, its `+` written %2B in the query string.
                Req::get(
                    addr,
                    &format!(
                        "/api/v1/accounts/{s}/customers?search=%2B{}",
                        &phone(n)[1..]
                    ),
                    auth,
                )
            }));
            rows.push(run_load(&cfg, "search phone digits", |rng| {
                let n = rng.random_range(0..data.customers as u64);
                Req::get(
                    addr,
                    &format!("/api/v1/accounts/{s}/customers?search={}", &phone(n)[5..]),
                    auth,
                )
            }));
            let codes = card_ids.clone();
            rows.push(run_load(&cfg, "search card code", |rng| {
                let (_, _, code) = codes.pick(rng);
                Req::get(
                    addr,
                    &format!("/api/v1/accounts/{s}/customers?search={code}"),
                    auth,
                )
            }));
            // The attack: a dozen clients sending, again and again, the costliest
            // search this dataset allows (every trigram of "@bench.example" is in every
            // customer's email), while the counter shows customers. Each search spends
            // its budget (`search_budget_ms`) and is refused, or answers the whole store;
            // searches may hold all readers but one, so shows keep a reader of their own.
            let worst = Req::get(
                addr,
                &format!("/api/v1/accounts/{s}/customers?search=%40bench.example"),
                auth,
            );
            let (row, beside) = run_load_beside(
                &cfg,
                &format!("customer show, {WORST_SEARCHES} worst-case searches beside"),
                |rng| {
                    let id = data.first_customer + rng.random_range(0..data.customers);
                    Req::get(addr, &format!("/api/v1/accounts/{s}/customers/{id}"), auth)
                },
                WORST_SEARCHES,
                &worst,
            );
            rows.push(row);
            summary["worst_case_searches_beside_show"] = json!({
                "clients": WORST_SEARCHES, "answered": beside.answered,
                "too_broad_422": beside.refused, "other_non_2xx": beside.failed,
                "p50_ms": beside.p50,
            });
            worst_searches = Some(beside);
            let counter = AtomicU64::new(0);
            rows.push(run_load(&cfg, "customer create", |_| {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let body = json!({"customer": {"first_name": "Bench", "last_name": format!("New{n}"),
                    "email": format!("new{n}-{}@bench.example", std::process::id())}, "card_id": data.card_id});
                Req::post(addr, &format!("/api/v1/accounts/{s}/customers"), auth, body.to_string())
            }));
        }
        let ids = card_ids.clone();
        rows.push(run_load(&cfg, &label("stamp"), |rng| {
            let (customer, card, _) = ids.pick(rng);
            Req::post(
                addr,
                &format!("/api/v1/accounts/{s}/customers/{customer}/customer_cards/{card}/stamp"),
                auth,
                "{\"stamps\":1}".into(),
            )
        }));
        if sync == Synchronous::Full {
            let ids = card_ids.clone();
            let reward = data.reward_id;
            rows.push(run_load(&cfg, "redeem", |rng| {
                let (customer, card, _) = ids.pick(rng);
                Req::post(
                    addr,
                    &format!(
                        "/api/v1/accounts/{s}/customers/{customer}/customer_cards/{card}/redeem"
                    ),
                    auth,
                    format!("{{\"reward_id\":{reward}}}"),
                )
            }));
        }
        peak_rss_kb = peak_rss_kb.max(server.stop());
    }

    // Stamps with live wallet cards, beside plain stamps measured again just before (the
    // machine's speed drifts over a run): the ratio of the two is the cost of the wallets.
    let wallet_stamps = {
        let stamp = |addr: SocketAddr, ids: &Arc<CardIds>, tok: &str| {
            let ids = ids.clone();
            let (s, tok) = (data.store_id, tok.to_string());
            move |rng: &mut rand::rngs::ThreadRng| {
                let (customer, card, _) = ids.pick(rng);
                Req::post(
                    addr,
                    &format!(
                        "/api/v1/accounts/{s}/customers/{customer}/customer_cards/{card}/stamp"
                    ),
                    Some(&tok),
                    "{\"stamps\":1}".into(),
                )
            }
        };
        let card_ids = Arc::new(CardIds::load(&db_path, data.first_customer, data.customers));
        let server = Server::start(&stampd_binary(), &db_path, &cfg.dir, Synchronous::Full, "");
        let plain = run_load(
            &cfg,
            "stamp (FULL, again before the wallet row)",
            stamp(server.addr, &card_ids, &data.token),
        );
        server.stop();
        let wallets = Wallets::start(&cfg.dir);
        let devices = save_every_card_on_a_device(&db_path);
        let server = Server::start(
            &stampd_binary(),
            &db_path,
            &cfg.dir,
            Synchronous::Full,
            &wallets.config,
        );
        let row = run_load(
            &cfg,
            "stamp with APNs and Google (FULL)",
            stamp(server.addr, &card_ids, &data.token),
        );
        let (pushes, google_calls) = (wallets.apns.pushes().len(), wallets.google.calls().len());
        server.stop();
        let ratio = if plain.rps > 0.0 {
            row.rps / plain.rps
        } else {
            0.0
        };
        let stamps = row.count;
        rows.push(plain);
        rows.push(row);
        (ratio, stamps, pushes, google_calls, devices)
    };
    summary["wallet_stamps"] = json!({
        "ratio_to_plain_stamps": wallet_stamps.0, "stamps": wallet_stamps.1,
        "apns_pushes_answered": wallet_stamps.2, "google_calls_answered": wallet_stamps.3,
        "devices": wallet_stamps.4,
    });

    // The read baseline once more: a machine's speed drifts over a run, so reads are
    // compared with the mean of the baseline before and after them.
    if everything {
        let base = Baseline::start(&db_path, &cfg.dir, Synchronous::Full);
        rows.push(run_load(
            &cfg,
            "baseline read (FULL, again at the end)",
            |rng| {
                let id = data.first_customer + rng.random_range(0..data.customers);
                Req::get(base.addr, &format!("/read/{id}"), None)
            },
        ));
        base.stop();
    }

    let find = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .map(|r| r.rps)
            .unwrap_or(0.0)
    };
    let read_base =
        (find("baseline read (FULL)") + find("baseline read (FULL, again at the end)")) / 2.0;
    let write_full = find("baseline insert (FULL)");
    let write_normal = find("baseline insert (NORMAL)");
    println!();
    println!(
        "stampd load benchmark — {} customers, {} connections, {} s per endpoint (max {} requests)\n",
        cfg.customers, cfg.connections, cfg.seconds, cfg.max_requests
    );
    println!("| endpoint | requests | non-2xx | req/s | vs baseline | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut json_rows = Vec::new();
    for r in &rows {
        let base = if r.name.contains("NORMAL") && !r.name.starts_with("baseline") {
            write_normal
        } else if r.name.contains("stamp") || r.name.contains("redeem") || r.name.contains("create")
        {
            write_full
        } else if r.name.starts_with("baseline insert (NORMAL") {
            write_normal
        } else if r.name.starts_with("baseline insert") {
            write_full
        } else {
            read_base
        };
        let ratio = if base > 0.0 { r.rps / base } else { 0.0 };
        println!(
            "| {} | {} | {} | {:.0} | {:.0}% | {:.2} | {:.2} | {:.2} |",
            r.name,
            r.count,
            r.errors,
            r.rps,
            ratio * 100.0,
            r.p50,
            r.p99,
            r.max
        );
        json_rows.push(json!({"endpoint": r.name, "requests": r.count, "non_2xx": r.errors,
            "rps": r.rps, "ratio_to_baseline": ratio, "p50_ms": r.p50, "p99_ms": r.p99, "max_ms": r.max}));
    }
    println!();
    println!("- dataset build: {build_secs:.1} s ({db_mb:.0} MB database)");
    println!(
        "- startup on the dataset (process start to first 200 from /api/v1/status): {:.3} s",
        startup
    );
    println!(
        "- full database check, in the background after startup, done after: {check:.1} s (the load starts after it)"
    );
    println!(
        "- peak RSS of stampd under load: {:.1} MB",
        peak_rss_kb as f64 / 1024.0
    );
    if let Some(b) = &worst_searches {
        println!(
            "- worst-case searches beside the show ({WORST_SEARCHES} clients): {} answered, {} of them 422 \"too broad\", {} other non-2xx; p50 {:.1} ms",
            b.answered, b.refused, b.failed, b.p50
        );
    }
    let (ratio, stamps, pushes, calls, devices) = wallet_stamps;
    println!(
        "- stamps with APNs and Google configured ({devices} cards, each saved on one device): {:.0}% of the plain stamp row measured just before; while the row ran, the APNs stand-in answered {pushes} pushes and the Google stand-in {calls} calls for {stamps} stamps (the rest went out after it: pushes to one device merge while one is on its way)",
        ratio * 100.0
    );
    println!("- machine: {}", summary["machine"].as_str().unwrap_or("?"));
    summary["startup_seconds"] = json!(startup);
    summary["database_check_seconds"] = json!(check);
    summary["peak_rss_mb"] = json!(peak_rss_kb as f64 / 1024.0);
    summary["endpoints"] = Value::Array(json_rows);
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).ok();
    std::fs::write(
        out.join("load.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .ok();
    if std::env::var("STAMPD_BENCH_KEEP").is_err() {
        let _ = std::fs::remove_dir_all(&cfg.dir);
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0);
    format!(
        "{cpu}, {cores} cores, {:.0} GiB RAM",
        mem as f64 / 1024.0 / 1024.0
    )
}

fn stampd_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stampd"))
}

// ---------------------------------------------------------------------------------
// Dataset

const FIRST: &[&str] = &[
    "Ann", "Bob", "Cara", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "June", "Kai", "Lea", "Milo",
    "Nora", "Otto", "Pia",
];

fn last_name(n: u64) -> String {
    // Distinct-ish surnames: a syllable pattern plus the number, so fragments are selective.
    const SYL: &[&str] = &[
        "bar", "cor", "dun", "fel", "gri", "hol", "jas", "kel", "lom", "mur", "nev", "pol", "quo",
        "ros", "sil", "tam",
    ];
    format!(
        "{}{}{}",
        SYL[(n % 16) as usize],
        SYL[((n / 16) % 16) as usize],
        n
    )
}

fn email(n: u64) -> String {
    format!("customer{n}@bench.example")
}

fn phone(n: u64) -> String {
    // Valid numbers, as stampd stores them (a local number cannot start with 0 or 1).
    format!("+1415{:07}", 2_000_000 + n % 8_000_000)
}

fn build_dataset(path: &Path, customers: u64) -> Dataset {
    let settings = Settings {
        database: path.to_path_buf(),
        synchronous: Synchronous::Normal,
        ..Settings::default()
    };
    let mut conn = db::open_connection(path, &settings).expect("open");
    db::migrate(&mut conn, path).expect("migrate");
    conn.execute_batch("PRAGMA cache_size = -1000000;").unwrap();
    let store_id = db::stores::insert(&conn, "Bench Coffee").unwrap();
    let token = stampd::cli::create_token(&mut conn, &[store_id], Some("bench")).unwrap();
    let design = db::cards::CardDesign {
        name: "Coffee".into(),
        stamps_required: 10,
        initial_stamps: 1,
        ..Default::default()
    };
    let card_id = db::cards::insert(&conn, store_id, &design, None).unwrap();
    let card = db::cards::find(&conn, store_id, card_id).unwrap().unwrap();
    let reward_id = db::rewards::insert(
        &conn,
        store_id,
        card_id,
        &db::rewards::RewardFields {
            name: "Free coffee".into(),
            description: None,
            stamps_required: 1,
            position: 0,
            active: true,
        },
    )
    .unwrap();
    db::bulk::begin_bulk_import(&conn).unwrap();
    let started = Instant::now();
    let mut first_customer = 0;
    let batch = 50_000;
    let mut n = 0;
    while n < customers {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let end = (n + batch).min(customers);
        let fields: Vec<db::customers::CustomerFields> = (n..end)
            .map(|i| db::customers::CustomerFields {
                first_name: FIRST[(i % 16) as usize].into(),
                last_name: Some(last_name(i)),
                email: Some(Email::from_stored(email(i))),
                phone: (i < 8_000_000).then(|| Phone::from_stored(phone(i))),
                birthday: None,
                metadata: Default::default(),
            })
            .collect();
        let ids = db::customers::insert_many(&tx, store_id, &fields).unwrap();
        if n == 0 {
            first_customer = ids[0];
        }
        // Each card: the welcome bonus and two visits' worth of stamps in the ledger.
        let cards: Vec<db::customer_cards::CardImport> = ids
            .into_iter()
            .map(|customer_id| db::customer_cards::CardImport {
                customer_id,
                visits: vec![4, 4],
            })
            .collect();
        db::customer_cards::import_cards(&tx, store_id, &card, &cards).unwrap();
        tx.commit().unwrap();
        n = (n + batch).min(customers);
        eprint!("\r  {n} customers");
    }
    eprintln!(" ({:.1} s)", started.elapsed().as_secs_f64());
    let t = Instant::now();
    db::bulk::end_bulk_import(&conn).unwrap();
    eprintln!(
        "  search index merged in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    eprintln!(
        "  optimized and checkpointed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Dataset {
        store_id,
        card_id,
        reward_id,
        customers: customers as i64,
        first_customer,
        token,
    }
}

/// (customer id, customer card id, code) of a sample of dataset cards, for stamps,
/// redemptions and code searches. Big enough that no card is redeemed more often than
/// its stamps allow (each starts with 9) during a run.
struct CardIds(Vec<(i64, i64, String)>);

impl CardIds {
    fn load(path: &Path, first: i64, count: i64) -> CardIds {
        let conn = Connection::open(path).unwrap();
        let mut rng = rand::rng();
        let mut stmt = conn
            .prepare("SELECT id, code FROM customer_cards WHERE customer_id = ?1")
            .unwrap();
        let mut v = Vec::new();
        for _ in 0..100_000.min(count) {
            let c = first + rng.random_range(0..count);
            if let Some((id, code)) = stmt
                .query_row([c], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .optional()
                .unwrap()
            {
                v.push((c, id, code));
            }
        }
        CardIds(v)
    }

    fn pick(&self, rng: &mut impl Rng) -> (i64, i64, &str) {
        let (c, id, code) = &self.0[rng.random_range(0..self.0.len())];
        (*c, *id, code)
    }
}

// ---------------------------------------------------------------------------------
// Servers

struct Server {
    child: Child,
    addr: SocketAddr,
    startup_secs: f64,
    /// Process start to the end of the background database check.
    check_secs: f64,
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Server {
    /// `extra`: more lines of the config file (TOML).
    fn start(bin: &Path, db: &Path, dir: &Path, sync: Synchronous, extra: &str) -> Server {
        let addr = free_addr();
        let config = dir.join("bench.toml");
        std::fs::write(
            &config,
            format!("log_level = \"warn\"\nbackup_interval_hours = 0\n{extra}"),
        )
        .unwrap();
        let t = Instant::now();
        let child = Command::new(bin)
            .args([
                "--config",
                config.to_str().unwrap(),
                "--db",
                db.to_str().unwrap(),
                "serve",
                "--bind",
                &addr.to_string(),
            ])
            .env("STAMPD_SYNCHRONOUS", sync.as_pragma())
            .env("STAMPD_RATE_LIMIT_PER_MINUTE", "0")
            .env("STAMPD_WORKERS", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start stampd");
        loop {
            if let Some(resp) = Req::get(addr, "/api/v1/status", None).send_once() {
                if resp == 200 {
                    break;
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "stampd did not start"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let startup_secs = t.elapsed().as_secs_f64();
        // A big database is fully checked in the background after startup; the load
        // waits for it, so the figures are those of a server in its steady state.
        loop {
            let status = Req::get(addr, "/api/v1/status", None).body_once();
            if status.is_some_and(|b| b.contains("\"database_check\":\"ok\"")) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(600),
                "the database check did not finish"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            addr,
            startup_secs,
            check_secs: t.elapsed().as_secs_f64(),
        }
    }

    /// Stops the server; returns its peak RSS in KiB.
    fn stop(mut self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let hwm = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        hwm
    }
}

/// Stand-ins of APNs and Google Wallet, and the settings that point stampd at them.
struct Wallets {
    apns: wallet_stand_ins::ApnsStandIn,
    google: wallet_stand_ins::GoogleStandIn,
    /// Lines of stampd's config file (TOML).
    config: String,
}

impl Wallets {
    fn start(dir: &Path) -> Wallets {
        let certs = dir.join("wallet-certs");
        std::fs::create_dir_all(&certs).unwrap();
        let apple = apple_chain::apple_chain(&certs);
        let apns = wallet_stand_ins::ApnsStandIn::start(
            &certs,
            &certs.join("root.pem"),
            apple_chain::PASS_TYPE_ID,
        );
        let (google_account, public_key) = wallet_stand_ins::google_service_account(&certs);
        let google = wallet_stand_ins::GoogleStandIn::start(&public_key);
        let path = |p: &Path| format!("{:?}", p.display().to_string());
        let config = [
            ("apple_pass_type_id", format!("{:?}", apple.pass_type_id)),
            ("apple_team_id", format!("{:?}", apple.team_id)),
            ("apple_certificate", path(&apple.certificate)),
            ("apple_private_key", path(&apple.private_key)),
            ("apple_wwdr_certificate", path(&apple.wwdr_certificate)),
            ("apns_base_url", format!("{:?}", apns.url)),
            ("extra_ca_file", path(&apns.ca_file)),
            (
                "google_issuer_id",
                format!("{:?}", google_account.issuer_id),
            ),
            (
                "google_service_account_key",
                path(&google_account.service_account_key),
            ),
            ("google_token_url", format!("{:?}", google.token_url)),
            ("google_api_url", format!("{:?}", google.api_url)),
        ]
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
        Wallets {
            apns,
            google,
            config,
        }
    }
}

/// Registers one device for every card of the dataset, as if each customer had saved
/// their pass in Apple Wallet; returns how many.
fn save_every_card_on_a_device(path: &Path) -> usize {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn.execute(
        "INSERT OR IGNORE INTO pass_registrations
             (device_library_id, customer_card_id, push_token, created_at)
         SELECT 'bench-device-' || id, id, printf('%064x', id), '2026-01-01T00:00:00.000Z'
         FROM customer_cards",
        [],
    )
    .unwrap()
}

/// The baseline: one primary-key SELECT (on the same customers table) and one single-row
/// INSERT, each through r2d2 + `web::block`, with the same durability setting.
struct Baseline {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

impl Baseline {
    fn start(db: &Path, dir: &Path, sync: Synchronous) -> Baseline {
        let pragmas = move |c: &mut Connection| {
            c.busy_timeout(Duration::from_secs(5))?;
            c.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {};",
                sync.as_pragma()
            ))
        };
        let read = r2d2::Pool::builder()
            .max_size(4)
            .build(SqliteConnectionManager::file(db).with_init(pragmas))
            .unwrap();
        let write_db = dir.join(format!("baseline-{}.db", sync.as_pragma()));
        let _ = std::fs::remove_file(&write_db);
        let write = r2d2::Pool::builder()
            .max_size(1)
            .build(SqliteConnectionManager::file(&write_db).with_init(pragmas))
            .unwrap();
        write
            .get()
            .unwrap()
            .execute_batch("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)")
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(read.clone()))
                        .app_data(web::Data::new(Writer(write.clone())))
                        .route("/read/{id}", web::get().to(baseline_read))
                        .route("/write", web::post().to(baseline_write))
                })
                .workers(2)
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                server.await.unwrap();
            })
        });
        let handle = rx.recv().unwrap();
        Baseline {
            addr,
            handle,
            thread,
        }
    }

    fn stop(self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        self.thread.join().unwrap();
    }
}

struct Writer(r2d2::Pool<SqliteConnectionManager>);

async fn baseline_read(
    pool: web::Data<r2d2::Pool<SqliteConnectionManager>>,
    path: web::Path<i64>,
) -> HttpResponse {
    let id = path.into_inner();
    let pool = pool.clone();
    let row = web::block(move || {
        let conn = pool.get().unwrap();
        conn.query_row("SELECT id, first_name, email FROM customers WHERE id = ?1", [id], |r| {
            Ok(json!({"id": r.get::<_, i64>(0)?, "first_name": r.get::<_, String>(1)?, "email": r.get::<_, Option<String>>(2)?}))
        })
        .optional()
        .unwrap()
    })
    .await
    .unwrap();
    match row {
        Some(v) => HttpResponse::Ok().json(v),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn baseline_write(pool: web::Data<Writer>) -> HttpResponse {
    let pool = pool.clone();
    let id = web::block(move || -> Result<i64, String> {
        let conn = pool.0.get().map_err(|e| e.to_string())?;
        conn.execute(
            "INSERT INTO items (name, created_at) VALUES ('x', ?1)",
            params![stampd::time_fmt::now()],
        )
        .map_err(|e| e.to_string())?;
        Ok(conn.last_insert_rowid())
    })
    .await;
    match id {
        Ok(Ok(id)) => HttpResponse::Created().json(json!({ "id": id })),
        Ok(Err(e)) => HttpResponse::InternalServerError().body(e),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

// ---------------------------------------------------------------------------------
// Load

/// One request, written by hand over a kept-alive connection: the client must cost as
/// little as possible, since it shares the machine with the server.
struct Req {
    addr: SocketAddr,
    raw: Vec<u8>,
}

impl Req {
    fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Req {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        Req {
            addr,
            raw: format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").into_bytes(),
        }
    }

    fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: String) -> Req {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        Req {
            addr,
            raw: format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        }
    }

    fn send_once(&self) -> Option<u16> {
        let mut conn = Conn::open(self.addr).ok()?;
        conn.send(&self.raw).ok()
    }

    /// The response body of one request on a new connection.
    fn body_once(&self) -> Option<String> {
        let mut conn = Conn::open(self.addr).ok()?;
        conn.send(&self.raw).ok()?;
        let end = find(&conn.buf, b"\r\n\r\n")?;
        String::from_utf8(conn.buf[end + 4..].to_vec()).ok()
    }
}

/// A kept-alive HTTP/1.1 connection that reads responses by Content-Length.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    fn send(&mut self, raw: &[u8]) -> std::io::Result<u16> {
        self.stream.write_all(raw)?;
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).map_err(std::io::Error::other)?;
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk)?;
                    if n == 0 {
                        return Err(std::io::Error::other("connection closed"));
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return Ok(status);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Clients sending the costliest search at once, beside the show load of its row.
const WORST_SEARCHES: usize = 12;

/// How the requests sent beside a row's load were answered.
struct Beside {
    answered: u64,
    /// 422: refused as too broad for the search budget.
    refused: u64,
    /// Any other answer that is not 2xx, or a broken connection.
    failed: u64,
    p50: f64,
}

/// `run_load` of `make`, while `clients` more connections send `beside` again and again
/// until the load is done.
fn run_load_beside<F>(
    cfg: &Config,
    name: &str,
    make: F,
    clients: usize,
    beside: &Req,
) -> (Row, Beside)
where
    F: Fn(&mut rand::rngs::ThreadRng) -> Req + Sync,
{
    let stop = AtomicBool::new(false);
    let (refused, failed) = (AtomicU64::new(0), AtomicU64::new(0));
    let latencies = Mutex::new(Vec::<u32>::new());
    let row = std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut conn: Option<Conn> = None;
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        conn = Conn::open(beside.addr).ok();
                    }
                    let t = Instant::now();
                    match conn.as_mut().map(|c| c.send(&beside.raw)) {
                        Some(Ok(status)) => {
                            mine.push(t.elapsed().as_micros() as u32);
                            if status == 422 {
                                refused.fetch_add(1, Ordering::Relaxed);
                            } else if !(200..300).contains(&status) {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                        }
                    }
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
        // Let every searching client have its first search under way.
        std::thread::sleep(Duration::from_millis(500));
        let row = run_load(cfg, name, make);
        stop.store(true, Ordering::Relaxed);
        row
    });
    let mut l = latencies.into_inner().unwrap();
    l.sort_unstable();
    let p50 = l.get(l.len() / 2).map_or(0.0, |&us| us as f64 / 1000.0);
    let beside = Beside {
        answered: l.len() as u64,
        refused: refused.into_inner(),
        failed: failed.into_inner(),
        p50,
    };
    (row, beside)
}

struct Row {
    name: String,
    count: u64,
    errors: u64,
    rps: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// Drives `make` requests from `connections` threads, each on one kept-alive connection,
/// until the time or request budget is spent.
fn run_load<F>(cfg: &Config, name: &str, make: F) -> Row
where
    F: Fn(&mut rand::rngs::ThreadRng) -> Req + Sync,
{
    let latencies = Mutex::new(Vec::<u32>::new());
    let sent = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(cfg.seconds);
    std::thread::scope(|s| {
        for _ in 0..cfg.connections {
            s.spawn(|| {
                let mut rng = rand::rng();
                let mut mine = Vec::with_capacity(4096);
                let mut conn: Option<Conn> = None;
                while !stop.load(Ordering::Relaxed) {
                    if sent.fetch_add(1, Ordering::Relaxed) >= cfg.max_requests
                        || Instant::now() >= deadline
                    {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    let req = make(&mut rng);
                    if conn.is_none() {
                        conn = Conn::open(req.addr).ok();
                    }
                    let t = Instant::now();
                    let result = conn.as_mut().map(|c| c.send(&req.raw));
                    match result {
                        Some(Ok(status)) => {
                            mine.push(t.elapsed().as_micros() as u32);
                            if !(200..300).contains(&status)
                                && errors.fetch_add(1, Ordering::Relaxed) == 0
                            {
                                if let Some(c) = conn.as_ref() {
                                    let body = String::from_utf8_lossy(&c.buf);
                                    eprintln!(
                                        "  first non-2xx answer of {name}: {}",
                                        body.chars().take(300).collect::<String>()
                                    );
                                }
                            }
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                        }
                    }
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.into_inner().unwrap();
    l.sort_unstable();
    let pct = |p: f64| {
        if l.is_empty() {
            0.0
        } else {
            l[((l.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
        }
    };
    let row = Row {
        name: name.to_string(),
        count: l.len() as u64,
        errors: errors.into_inner(),
        rps: l.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: pct(1.0),
    };
    eprintln!(
        "  {:<32} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} non-2xx)",
        row.name, row.rps, row.p50, row.p99, row.errors
    );
    row
}
