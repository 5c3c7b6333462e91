//! Bulk import through the storage layer (many customers and cards per statement), then
//! served by the API like any other data: ids in order, search index built and merged,
//! balances equal to their ledger.

use std::collections::HashSet;

use serde_json::json;
use stampd::db;
use stampd::domain::{Email, Phone};

use crate::support::app::spawn_app;

fn imported_fields(n: usize) -> Vec<db::customers::CustomerFields> {
    (0..n)
        .map(|i| db::customers::CustomerFields {
            first_name: format!("Imported{i}"),
            last_name: Some(format!("Zephyrine{i:05}")),
            email: Some(Email::from_stored(format!("imported{i}@example.com"))),
            phone: Some(Phone::from_stored(format!("+1415{:07}", 5_000_000 + i))),
            birthday: None,
            metadata: Default::default(),
        })
        .collect()
}

#[test]
fn imported_customers_and_cards_are_served_searchable_with_their_ledger() {
    let app = spawn_app();
    let card =
        app.create_card(json!({"name": "Coffee", "stamps_required": 10, "initial_stamps": 1}));
    let card_id = card["id"].as_i64().unwrap();
    // More than one statement's worth of rows, so chunking is exercised.
    let n = 2_600;
    let fields = imported_fields(n);
    let (ids, card_ids) = app.write_tx(|tx| {
        db::bulk::begin_bulk_import(tx).unwrap();
        let ids = db::customers::insert_many(tx, app.store_id, &fields).unwrap();
        let template = db::cards::find(tx, app.store_id, card_id).unwrap().unwrap();
        let imports: Vec<db::customer_cards::CardImport> = ids
            .iter()
            .enumerate()
            .map(|(i, &customer_id)| db::customer_cards::CardImport {
                customer_id,
                visits: vec![2, (i % 3) as i64 + 1],
            })
            .collect();
        let card_ids =
            db::customer_cards::import_cards(tx, app.store_id, &template, &imports).unwrap();
        db::bulk::end_bulk_import(tx).unwrap();
        (ids, card_ids)
    });
    assert_eq!(ids.len(), n);
    assert_eq!(card_ids.len(), n);
    // The import wrote the search index in big pages; it is left set to small ones.
    let page_size: i64 = app.write_tx(|tx| {
        tx.query_row(
            "SELECT v FROM customer_search_config WHERE k = 'pgsz'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    });
    assert_eq!(page_size, 1000);

    // Ids come back in the order given: customer ids[i] is fields[i].
    for i in [0, 1, 499, 500, 2_499, 2_500, n - 1] {
        let c = app.get(&app.store_path(&format!("/customers/{}", ids[i])));
        assert_eq!(c.status, 200);
        assert_eq!(c.body["email"], format!("imported{i}@example.com"));
        let cards = c.body["customer_cards"].as_array().unwrap();
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0]["id"].as_i64().unwrap(), card_ids[i]);
        // Welcome bonus 1, then visits of 2 and 1..=3.
        let balance = 1 + 2 + (i % 3) as i64 + 1;
        assert_eq!(cards[0]["stamps_count"], balance);
        let events = app.get(&app.store_path(&format!(
            "/customers/{}/customer_cards/{}/events",
            ids[i], card_ids[i]
        )));
        assert_eq!(events.status, 200);
        let rows = events.body["events"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        let sum: i64 = rows.iter().map(|e| e["stamps"].as_i64().unwrap()).sum();
        assert_eq!(sum, balance, "the ledger sums to the balance");
        assert_eq!(rows[0]["balance_after"], balance, "newest first");
        let kinds: Vec<&str> = rows.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["stamp", "stamp", "welcome_bonus"]);
    }

    // Every card has its own code.
    let conn = app.conn();
    let codes: HashSet<String> = conn
        .prepare("SELECT code FROM customer_cards")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(codes.len(), n);

    // The search index has every imported customer.
    let found = app.get(&app.store_path("/customers?search=ephyrine01234"));
    assert_eq!(found.status, 200);
    assert_eq!(found.body["pagination"]["count"], 1, "{}", found.text);
    assert_eq!(
        found.body["customers"][0]["id"].as_i64().unwrap(),
        ids[1234]
    );
    let all = app.get(&app.store_path("/customers?search=zephyrine"));
    assert_eq!(all.body["pagination"]["count"], n as i64);
    let list = app.get(&app.store_path("/customers"));
    assert_eq!(list.body["pagination"]["count"], n as i64);
    assert_eq!(
        list.body["customers"][0]["id"].as_i64().unwrap(),
        ids[n - 1],
        "newest first"
    );

    // The index settings are back to normal: a customer created over the API is found.
    let made = app
        .create_customer(json!({"customer": {"first_name": "Quillon", "email": "q@example.com"}}));
    let again = app.get(&app.store_path("/customers?search=quillo"));
    assert_eq!(again.body["customers"][0]["id"], made["id"]);
}
