//! The command line, run as the real binary: stores, tokens, migrations, configuration
//! errors, first start, and a clean stop on SIGTERM.
//!
//! Every command gets `--db` in a temporary folder and `--config` pointing to a temporary
//! config file, and runs with no `STAMPD_*` variables from the outside, so neither the
//! repository's `config.toml` nor the caller's environment is used.

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::binary::*;

const UNAUTHORIZED: &str = "Unauthorized – invalid or missing API token";

#[test]
fn store_create_prints_only_the_id() {
    let env = Env::new(&[]);
    let out = env.run(&["store", "create", "--name", "Shop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let id: i64 = stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("stdout is not an id: {stdout:?}"));
    assert_eq!(stdout, format!("{id}\n"));
    assert!(id > 0);

    let second = env.create_store("Bakery");
    assert_ne!(second, id);

    let conn = open_db(&env.db);
    let name: String = conn
        .query_row("SELECT name FROM stores WHERE id = ?1", [id], |r| r.get(0))
        .expect("store row");
    assert_eq!(name, "Shop");

    let list = env.ok(&["store", "list"]);
    assert!(list.contains("Shop") && list.contains("Bakery"), "{list}");

    let out = env.run(&["store", "create", "--name", "  "]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--name"), "{}", stderr(&out));
}

#[test]
fn token_create_prints_only_a_token_that_works() {
    let env = Env::new(&[]);
    let shop = env.create_store("Shop");
    let token = env.create_token(&[shop], "pos");
    assert!(token.len() >= 32, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_graphic()), "{token:?}");
    // Stored only as a hash.
    let conn = open_db(&env.db);
    let found: i64 = conn
        .query_row(
            "SELECT count(*) FROM api_tokens WHERE CAST(token_hash AS TEXT) = ?1",
            [&token],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 0);
    drop(conn);

    let mut server = Server::start(&env);
    assert!(!server.stdout().contains("Bearer"), "{}", server.stdout());
    let (status, body) = http("GET", &server.url("/api/v1/accounts"), Some(&token), None);
    assert_eq!(status, 200, "{body}");
    let stores = body.as_array().expect("array");
    assert_eq!(stores.len(), 1, "{body}");
    assert_eq!(stores[0]["id"], shop);
    assert_eq!(stores[0]["name"], "Shop");
    let (status, _) = http(
        "GET",
        &server.url(&format!("/api/v1/accounts/{shop}")),
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    assert!(server.terminate().success());
}

#[test]
fn token_list_shows_id_label_and_stores_but_never_the_token() {
    let env = Env::new(&[]);
    let a = env.create_store("Shop A");
    let b = env.create_store("Shop B");
    let pos = env.create_token(&[a], "pos");
    let both = env.create_token(&[a, b], "office");
    let out = env.ok(&["token", "list"]);
    assert!(!out.contains(&pos), "token text shown: {out}");
    assert!(!out.contains(&both), "token text shown: {out}");
    assert!(!out.contains("stampd_"), "token-like text shown: {out}");

    let conn = open_db(&env.db);
    let ids: Vec<(i64, String)> = conn
        .prepare("SELECT id, name FROM api_tokens ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids.len(), 2);
    let row = |label: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(label))
            .unwrap_or_else(|| panic!("no row for {label}: {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let pos_row = row("pos");
    assert_eq!(pos_row[0], ids[0].0.to_string(), "{out}");
    assert_eq!(pos_row[2], a.to_string(), "{out}");
    let office_row = row("office");
    assert_eq!(office_row[0], ids[1].0.to_string(), "{out}");
    let mut stores: Vec<&str> = office_row[2].split(',').collect();
    stores.sort();
    let mut expected = vec![a.to_string(), b.to_string()];
    expected.sort();
    assert_eq!(stores, expected, "{out}");
}

#[test]
fn token_revoke_refuses_the_token_at_once_on_a_running_server() {
    let env = Env::new(&[]);
    let shop = env.create_store("Shop");
    let keep = env.create_token(&[shop], "keep");
    let token = env.create_token(&[shop], "pos");
    let mut server = Server::start(&env);
    let url = server.url("/api/v1/accounts");
    assert_eq!(http("GET", &url, Some(&token), None).0, 200);

    let id = {
        let conn = open_db(&env.db);
        let id: i64 = conn
            .query_row("SELECT id FROM api_tokens WHERE name = 'pos'", [], |r| {
                r.get(0)
            })
            .unwrap();
        id
    };
    let out = env.ok(&["token", "revoke", &id.to_string()]);
    assert!(out.contains(&id.to_string()), "{out}");

    let (status, body) = http("GET", &url, Some(&token), None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body, serde_json::json!({ "error": UNAUTHORIZED }));
    let (status, _) = http(
        "POST",
        &server.url(&format!("/api/v1/accounts/{shop}/cards")),
        Some(&token),
        Some(&serde_json::json!({"card": {"name": "Coffee"}})),
    );
    assert_eq!(status, 401);
    // The other token is untouched.
    assert_eq!(http("GET", &url, Some(&keep), None).0, 200);

    let list = env.ok(&["token", "list"]);
    let row = list
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("pos"))
        .expect("pos row");
    assert!(row.contains("revoked"), "{list}");

    // Revoking again, or a token that does not exist, fails.
    for bad in [id.to_string(), "999".to_string()] {
        let out = env.run(&["token", "revoke", &bad]);
        assert_eq!(out.status.code(), Some(1), "revoke {bad}");
        assert!(stderr(&out).contains(&bad), "{}", stderr(&out));
    }
    assert!(server.terminate().success());
}

#[test]
fn token_create_for_a_missing_store_fails_naming_it() {
    let env = Env::new(&[]);
    env.create_store("Shop");
    let out = env.run(&["token", "create", "--account", "999", "--name", "pos"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = stderr(&out);
    assert!(err.contains("999") && err.contains("store"), "{err}");
    let conn = open_db(&env.db);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "no token was created");
}

#[test]
fn migrate_succeeds_and_is_repeatable() {
    let env = Env::new(&[]);
    assert!(!env.db.exists());
    let out = env.run(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.db.exists());
    let conn = open_db(&env.db);
    for table in [
        "stores",
        "api_tokens",
        "cards",
        "customers",
        "customer_cards",
    ] {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "table {table}");
    }
    drop(conn);
    let out = env.run(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // And the database is usable afterwards.
    env.create_store("Shop");
}

#[test]
fn a_bad_config_value_fails_naming_the_key() {
    let env = Env::with_config("read_pool_size = 0\n");
    for args in [vec!["store", "list"], vec!["migrate"]] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("read_pool_size"), "{err}");
        assert!(out.stdout.is_empty());
    }
    assert!(!env.db.exists(), "nothing is created on a bad config");

    let env = Env::new(&[]);
    let out = env.run_with(&["store", "list"], &[("STAMPD_SYNCHRONOUS", "sometimes")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("synchronous"), "{err}");
    assert!(err.contains("STAMPD_SYNCHRONOUS"), "{err}");

    // serve refuses too, before listening.
    let out = env.run_with(
        &["serve", "--bind", "127.0.0.1:0"],
        &[("STAMPD_WORKERS", "0")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("workers"), "{}", stderr(&out));

    let env = Env::with_config("synchronous = \"sometimes\"\n");
    let out = env.run(&["store", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("synchronous"), "{}", stderr(&out));

    let env = Env::with_config("bnid = \"127.0.0.1:1\"\n");
    let out = env.run(&["store", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bnid"), "{}", stderr(&out));
}

#[test]
fn a_good_env_value_is_used() {
    // The env layer wins over the file: a valid value there is accepted.
    let env = Env::with_config("synchronous = \"sometimes\"\n");
    let out = env.run_with(&["store", "list"], &[("STAMPD_SYNCHRONOUS", "normal")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn first_start_prints_a_token_once() {
    let env = Env::new(&[]);
    let mut server = Server::start(&env);
    let out = server.wait_stdout("curl");
    let (token, url) = banner_token(&out);
    assert!(token.len() >= 32, "{out}");
    assert_eq!(url, server.url("/api/v1/accounts"), "{out}");
    // The token stands alone on a line too, and appears nowhere else.
    assert_eq!(
        out.lines().filter(|l| l.trim() == token).count(),
        1,
        "{out}"
    );
    assert_eq!(out.matches(&token).count(), 2, "{out}");

    let (status, body) = http("GET", &url, Some(&token), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body[0]["name"], "My Store");
    // Without public_url, links point at 127.0.0.1: the owner is told, and the log says so.
    let out = server.wait_stdout("phones cannot open");
    assert!(out.contains("set public_url"), "{out}");
    assert!(
        server
            .log_text()
            .contains("which customers' phones cannot open"),
        "{}",
        server.log_text()
    );
    assert!(server.terminate().success());
    assert_eq!(server.stdout().matches("curl").count(), 1);

    // A second start on the same database prints no new token.
    let mut again = Server::start(&env);
    std::thread::sleep(Duration::from_millis(200));
    let out2 = again.stdout();
    assert!(!out2.contains("Bearer"), "{out2}");
    assert!(!out2.contains("curl"), "{out2}");
    assert!(!out2.contains(&token), "{out2}");
    let (status, body) = http("GET", &again.url("/api/v1/accounts"), Some(&token), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(1),
        "still one store: {body}"
    );
    assert!(again.terminate().success());
    let conn = open_db(&env.db);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn sigterm_stops_cleanly_and_the_db_file_alone_holds_everything() {
    let env = Env::new(&[]);
    let mut server = Server::start(&env);
    let (token, _) = banner_token(&server.wait_stdout("curl"));
    let (status, body) = http("GET", &server.url("/api/v1/accounts"), Some(&token), None);
    assert_eq!(status, 200, "{body}");
    let store = body[0]["id"].as_i64().expect("store id");
    let base = server.url(&format!("/api/v1/accounts/{store}"));

    let (status, card) = http(
        "POST",
        &format!("{base}/cards"),
        Some(&token),
        Some(&serde_json::json!({"card": {"name": "Coffee", "initial_stamps": 1}})),
    );
    assert_eq!(status, 201, "{card}");
    let mut customers = Vec::new();
    for i in 0..5 {
        let (status, c) = http(
            "POST",
            &format!("{base}/customers"),
            Some(&token),
            Some(&serde_json::json!({
                "customer": {"first_name": format!("Ann{i}"), "email": format!("ann{i}@example.com")},
                "card_id": card["id"],
            })),
        );
        assert_eq!(status, 201, "{c}");
        customers.push(c["id"].as_i64().unwrap());
    }
    let (status, s) = http(
        "PATCH",
        &base,
        Some(&token),
        Some(&serde_json::json!({"account": {"store_name": "Ann's Coffee"}})),
    );
    assert_eq!(status, 200, "{s}");

    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();

    let wal = env.sibling("-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(
        wal_len, 0,
        "-wal is {wal_len} bytes after a clean stop; log: {log}"
    );

    // The .db file alone, elsewhere.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("copy.db");
    std::fs::copy(&env.db, &copy).unwrap();
    let conn = open_db(&copy);
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM customers WHERE store_id = ?1",
            [store],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 5);
    let name: String = conn
        .query_row(
            "SELECT name FROM cards WHERE id = ?1",
            [card["id"].as_i64().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Coffee");
    let store_name: Option<String> = conn
        .query_row(
            "SELECT store_name FROM stores WHERE id = ?1",
            [store],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(store_name.as_deref(), Some("Ann's Coffee"));
    let enrolled: i64 = conn
        .query_row("SELECT count(*) FROM customer_cards", [], |r| r.get(0))
        .unwrap();
    assert_eq!(enrolled, 5);
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_file_that_is_not_a_database_stops_startup_saying_so() {
    let env = Env::new(&[]);
    std::fs::write(
        &env.db,
        b"these are the shop's notes, not a database ".repeat(200),
    )
    .unwrap();
    for args in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
        let out = env.run(args);
        assert!(!out.status.success(), "{args:?} must fail");
        let err = stderr(&out);
        assert!(err.contains("is not a stampd database"), "{err}");
        assert!(err.contains("stampd restore"), "says what to do: {err}");
    }
}

#[test]
fn a_damaged_database_stops_startup_saying_so() {
    let env = Env::new(&[]);
    let store = env.create_store("Shop");
    {
        let conn = open_db(&env.db);
        for i in 0..300 {
            conn.execute(
                "INSERT INTO stores (name, created_at, updated_at) VALUES (?1, 'x', 'x')",
                [format!(
                    "Store number {i} with a long enough name to fill pages"
                )],
            )
            .unwrap();
        }
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    assert!(store > 0);
    // Overwrite the middle of the file with garbage: a few b-tree pages are destroyed.
    let mut bytes = std::fs::read(&env.db).unwrap();
    assert!(bytes.len() > 4096 * 6, "the file has pages to damage");
    let mid = bytes.len() / 2 / 4096 * 4096;
    for b in &mut bytes[mid..mid + 4096] {
        *b = 0xA5;
    }
    std::fs::write(&env.db, &bytes).unwrap();
    let out = env.run(&["serve", "--bind", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("is damaged") || err.contains("not a stampd database"),
        "{err}"
    );
    assert!(err.contains("stampd restore"), "says what to do: {err}");
}

/// Makes the database bigger than what is fully checked before starting, with customers
/// of big metadata (the small tables checked before starting stay intact, and the schema
/// stays stampd's own); returns the page numbers of the customers table's leaf pages.
fn make_big(env: &Env) -> Vec<i64> {
    let store = env.create_store("Shop");
    let conn = open_db(&env.db);
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 72000)
         INSERT INTO customers (store_id, first_name, first_name_key, metadata, created_at,
             updated_at)
         SELECT ?1, 'Filler', 'filler', json_object('pad', hex(randomblob(500))),
             '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z' FROM n",
        [store],
    )
    .unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let size = std::fs::metadata(&env.db).unwrap().len();
    assert!(
        size > stampd::db::FULL_CHECK_BEFORE_START_BYTES,
        "the file is big: {size}"
    );
    let mut stmt = conn
        .prepare("SELECT pageno FROM dbstat WHERE name = 'customers' AND pagetype = 'leaf'")
        .unwrap();
    let pages = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<i64>, _>>()
        .unwrap();
    pages
}

fn database_check(server: &Server) -> String {
    let (status, body) = http("GET", &server.url("/api/v1/status"), None, None);
    assert_eq!(status, 200);
    body["database_check"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_big_database_starts_at_once_and_status_tells_when_its_full_check_is_done() {
    let env = Env::new(&[]);
    make_big(&env);
    let server = Server::start(&env);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let state = database_check(&server);
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "ok" {
            break;
        }
        assert_eq!(state, "running", "{seen:?}");
        assert!(Instant::now() < deadline, "the check never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Still serving after the check.
    let (status, _) = http("GET", &server.url("/api/v1/status"), None, None);
    assert_eq!(status, 200);
}

#[test]
fn a_small_database_is_checked_before_starting() {
    let env = Env::new(&[]);
    env.create_store("Shop");
    let server = Server::start(&env);
    assert_eq!(database_check(&server), "ok");
}

#[test]
fn a_big_database_damaged_past_its_small_tables_stops_serving_once_checked() {
    let env = Env::new(&[]);
    let pages = make_big(&env);
    // Destroy a leaf page of the customers: the small tables are intact, so stampd
    // starts, and the check in the background finds the damage.
    let page = pages[pages.len() / 2];
    let mut bytes = std::fs::read(&env.db).unwrap();
    let at = (page as usize - 1) * 4096;
    for b in &mut bytes[at..at + 4096] {
        *b = 0xA5;
    }
    std::fs::write(&env.db, &bytes).unwrap();
    let log = env.dir.path().join("serve.log");
    let mut child = env
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("stampd kept serving a damaged database");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "exits with a failure: {status:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    let listening = log.find("listening on").expect("it started serving");
    let failed = log
        .find("database check failed")
        .expect("then the check failed");
    assert!(listening < failed, "{log}");
    assert!(log.contains("stampd restore"), "says what to do: {log}");
}

#[test]
fn a_database_from_a_newer_stampd_stops_startup_saying_so() {
    let env = Env::new(&[]);
    env.ok(&["migrate"]);
    {
        let conn = open_db(&env.db);
        conn.execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (999, 'future', 'now', '0')",
            [],
        )
        .unwrap();
    }
    let out = env.run(&["serve", "--bind", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("newer stampd") && err.contains("999"), "{err}");
}
