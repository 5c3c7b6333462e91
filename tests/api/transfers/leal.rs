//! Importing from another server speaking the Leal v1 API: a second stampd, started by
//! the test, is the source.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stampd::db;
use stampd::domain::{Email, Phone};
use stampd::transfer::leal::{import, LealImport, Source};

use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::binary::{open_db, Env, Server};

/// `n` customers of a store, each with a card of `card_id` (stamps from visits), written
/// through the bulk-import storage functions.
fn seed_customers(conn: &rusqlite::Connection, store_id: i64, card_id: i64, n: usize, tag: &str) {
    let fields: Vec<db::customers::CustomerFields> = (0..n)
        .map(|i| db::customers::CustomerFields {
            first_name: format!("{tag}{i}"),
            last_name: Some(format!("Source{i}")),
            email: Some(Email::from_stored(
                format!("{tag}{i}@example.com").to_lowercase(),
            )),
            phone: Some(Phone::from_stored(format!("+1415{:07}", 3_000_000 + i))),
            birthday: None,
            metadata: serde_json::from_value(json!({"from": tag})).unwrap(),
        })
        .collect();
    let ids = db::customers::insert_many(conn, store_id, &fields).unwrap();
    let card = db::cards::find(conn, store_id, card_id).unwrap().unwrap();
    let imports: Vec<db::customer_cards::CardImport> = ids
        .iter()
        .enumerate()
        .map(|(i, &customer_id)| db::customer_cards::CardImport {
            customer_id,
            visits: vec![(i % 7) as i64 + 1],
        })
        .collect();
    db::customer_cards::import_cards(conn, store_id, &card, &imports).unwrap();
}

/// Every customer of a store: (email, first card's code, its balance), sorted.
fn holdings(conn: &rusqlite::Connection, store_id: i64) -> Vec<(String, String, i64)> {
    conn.prepare(
        "SELECT c.email, cc.code, cc.stamps_count FROM customers c
         JOIN customer_cards cc ON cc.customer_id = c.id WHERE c.store_id = ?1 ORDER BY c.email, cc.code",
    )
    .unwrap()
    .query_map([store_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn card_of(app: &TestApp, store: i64, token: &str, body: Value) -> i64 {
    let r = app.request(
        "POST",
        &format!("/api/v1/accounts/{store}/cards"),
        Some(token),
        Some("application/json"),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

fn options(into: Option<i64>) -> LealImport {
    LealImport {
        into,
        dry_run: false,
        country: phonenumber::country::Id::US,
    }
}

#[test]
fn import_leal_brings_every_customer_code_and_balance_waits_out_429_and_duplicates_nothing() {
    // The source allows 600 requests a minute per token, one more every 0.1 s.
    let source = spawn_app_with(|s| s.rate_limit_per_minute = 600);
    let a = source.store_id;
    let (b, b_token) = source.new_store("Second Shop");
    let coffee = source
        .create_card(json!({"name": "Coffee", "stamps_required": 8, "stamp_icon": "star"}))["id"]
        .as_i64()
        .unwrap();
    let cake = source.create_card(json!({"name": "Cake", "stamps_required": 5}))["id"]
        .as_i64()
        .unwrap();
    source.create_reward(coffee, "Free coffee", 8);
    source.post_ok(&source.store_path("/locations"), json!({"location": {"name": "Main St", "address": "1 Main St", "latitude": 40.0, "longitude": -73.0}}));
    source.post_ok(
        &source.store_path("/posters"),
        json!({"poster": {"card_id": coffee, "title": "Join us", "paper_size": "a5"}}),
    );
    let b_card = card_of(
        &source,
        b,
        &b_token,
        json!({"card": {"name": "Haircut", "stamps_required": 10}}),
    );
    source.write_tx(|tx| {
        seed_customers(tx, a, coffee, 1_500, "Ann");
        seed_customers(tx, b, b_card, 150, "Bo");
    });
    // One customer with two cards, metadata and a reference of its own, over the API.
    let two = source.create_customer(json!({"customer": {"first_name": "Cy", "email": "cy@example.com", "metadata": {"vip": true},
        "external_references": [{"source": "pos", "external_id": "77"}]}, "card_id": coffee}));
    let store = source.store_id;
    source.write_tx(|tx| {
        let card = db::cards::find(tx, store, cake).unwrap().unwrap();
        db::customer_cards::enrol(
            tx,
            store,
            two["id"].as_i64().unwrap(),
            &card,
            &Default::default(),
        )
        .unwrap();
    });
    let token = source.token_for(&[a, b]);

    let target = spawn_app();
    let mut conn = target.conn();
    let from_a = Source::new(&source.base, &token, a);
    // The import's token has used up its allowance: the source answers 429 at first.
    let drained = (0..700)
        .map(|_| {
            source
                .request("GET", "/api/v1/accounts", Some(&token), None, None)
                .status
        })
        .filter(|&s| s == 429)
        .count();
    assert!(drained > 0);
    let started = Instant::now();
    let (store_a, report) = import(&mut conn, &from_a, &options(None), &mut |_, _| {}).unwrap();
    println!(
        "imported 1,501 customers over 16 pages in {:.1} s, waits {:?}",
        started.elapsed().as_secs_f64(),
        from_a.waits()
    );
    assert_eq!(report.created, 1_501, "{report:?}");
    let (after_429, _) = from_a.waits();
    assert!(
        after_429 > 0,
        "the source's 429 and Retry-After were waited for"
    );
    assert!(
        report.skipped.is_empty(),
        "{:?}",
        &report.skipped[..report.skipped.len().min(3)]
    );
    // Into an existing store, the second store of the source.
    let (store_b, _) = target.new_store("Haircuts");
    let from_b = Source::new(&source.base, &source.token_for(&[b]), b);
    let (into, report_b) =
        import(&mut conn, &from_b, &options(Some(store_b)), &mut |_, _| {}).unwrap();
    assert_eq!((into, report_b.created), (store_b, 150));

    let src = source.conn();
    assert_eq!(
        holdings(&conn, store_a),
        holdings(&src, a),
        "every customer, code and balance arrived"
    );
    assert_eq!(holdings(&conn, store_b), holdings(&src, b));
    let name: String = conn
        .query_row("SELECT name FROM stores WHERE id = ?1", [store_a], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(name, "Test Store");
    let check = target.conn();
    let count = |sql: &str| -> i64 { check.query_row(sql, [store_a], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM cards WHERE store_id = ?1"), 2);
    assert_eq!(count("SELECT count(*) FROM rewards WHERE store_id = ?1"), 1);
    assert_eq!(
        count("SELECT count(*) FROM locations WHERE store_id = ?1"),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM posters WHERE store_id = ?1 AND title = 'Join us'"),
        1
    );
    assert_eq!(count("SELECT count(*) FROM cards WHERE store_id = ?1 AND stamp_icon = 'star' AND stamps_required = 8"), 1);
    // Each balance is one `import` ledger entry naming its source.
    let (kind, note): (String, String) = conn.query_row(
        "SELECT e.kind, e.note FROM stamp_events e JOIN customers c ON c.email = 'ann17@example.com'
         JOIN customer_cards cc ON cc.customer_id = c.id AND cc.id = e.customer_card_id", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(kind, "import");
    assert!(
        note.starts_with(&format!("imported from {} customer card ", source.base)),
        "{note}"
    );
    let cy: (String, i64) = conn.query_row(
        "SELECT c.metadata, (SELECT count(*) FROM external_references r WHERE r.customer_id = c.id)
         FROM customers c WHERE c.email = 'cy@example.com' AND c.store_id = ?1", [store_a], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(
        cy,
        (r#"{"vip":true}"#.to_string(), 2),
        "metadata and references kept, the source id added"
    );

    // Run again: it goes into the same store and duplicates nothing.
    let ledger = count("SELECT count(*) FROM stamp_events WHERE store_id = ?1");
    let (again, rerun) = import(
        &mut conn,
        &Source::new(&source.base, &source.token_for(&[a]), a),
        &options(None),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(again, store_a);
    assert_eq!(
        (rerun.created, rerun.updated, rerun.unchanged),
        (0, 0, 1_501),
        "{rerun:?}"
    );
    assert_eq!(
        count("SELECT count(*) FROM customers WHERE store_id = ?1"),
        1_501
    );
    assert_eq!(count("SELECT count(*) FROM cards WHERE store_id = ?1"), 2);
    assert_eq!(
        count("SELECT count(*) FROM stamp_events WHERE store_id = ?1"),
        ledger
    );
}

#[test]
fn import_leal_resumes_after_the_source_was_killed_midway() {
    let env = Env::new(&[]);
    let store = env.create_store("Source Shop");
    let token = env.create_token(&[store], "import");
    {
        let conn = open_db(&env.db);
        let design = db::cards::CardDesign {
            name: "Coffee".into(),
            ..Default::default()
        };
        let card = db::cards::insert(&conn, store, &design, None).unwrap();
        seed_customers(&conn, store, card, 5_000, "Di");
    }
    let port = crate::support::binary::free_port();
    let mut server = Server::start_on(&env, port, |_| {});
    let base = format!("http://127.0.0.1:{port}");

    let target = spawn_app();
    let target_db = target.db_path();
    let importer = {
        let base = base.clone();
        let token = token.clone();
        let mut conn = target.conn();
        std::thread::spawn(move || {
            import(
                &mut conn,
                &Source::new(&base, &token, store),
                &options(None),
                &mut |_, _| {},
            )
        })
    };
    // Kill the source once some pages are in.
    let watch = open_db(&target_db);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pages: i64 = watch
            .query_row("SELECT coalesce(max(position), 0) FROM imports", [], |r| {
                r.get(0)
            })
            .unwrap_or(0);
        if pages >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no page imported");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    let stopped = importer.join().unwrap();
    let done: i64 = watch
        .query_row("SELECT position FROM imports", [], |r| r.get(0))
        .unwrap();
    if stopped.is_ok() {
        panic!("the import finished before the source was killed ({done} pages); make the source bigger");
    }
    assert!(stopped
        .unwrap_err()
        .to_string()
        .contains("run the import again"));
    assert!(done < 50);

    let _server = Server::start_on(&env, port, |_| {});
    let mut conn = target.conn();
    let (store_id, report) = import(
        &mut conn,
        &Source::new(&base, &token, store),
        &options(None),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(report.resumed_after, done as u64 * 100);
    assert_eq!(report.created as i64, 5_000 - done * 100, "{report:?}");
    assert_eq!(
        holdings(&conn, store_id),
        holdings(&open_db(&env.db), store)
    );
}
