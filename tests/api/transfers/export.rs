//! Exports: customers as CSV import back with everything kept; the ledger sums to the
//! balances.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::support::app::{spawn_app, TestApp};

/// A store with customers holding metadata, external references, two cards each,
/// stamps, corrections and a redemption; returns the card ids.
fn seed(app: &TestApp) -> (i64, i64) {
    let coffee = app
        .create_card(json!({"name": "Coffee", "stamps_required": 5, "initial_stamps": 1}))["id"]
        .as_i64()
        .unwrap();
    let cake = app.create_card(json!({"name": "Cake", "stamps_required": 8}))["id"]
        .as_i64()
        .unwrap();
    let reward = app.create_reward(coffee, "Free coffee", 3)["id"]
        .as_i64()
        .unwrap();
    for i in 0..12 {
        let made = app.create_customer(json!({
            "customer": {
                "first_name": format!("Ann{i}"), "last_name": if i % 2 == 0 { json!(format!("Lee, {i}")) } else { json!(null) },
                "email": if i % 3 == 2 { json!(null) } else { json!(format!("ann{i}@example.com")) },
                "phone": format!("+1415555{:04}", 1000 + i),
                "birthday": if i % 4 == 0 { json!("1990-02-03") } else { json!(null) },
                "metadata": {"tier": i % 3, "note": "line one\nline \"two\""},
                "external_references": [{"source": "pos", "external_id": format!("P{i}"), "metadata": {"x": i}}],
            },
            "card_id": coffee,
        }));
        let id = made["id"].as_i64().unwrap();
        let cc = made["customer_card"]["id"].as_i64().unwrap();
        let base = app.store_path(&format!("/customers/{id}/customer_cards/{cc}"));
        app.post_ok(&format!("{base}/stamp"), json!({"stamps": 3 + i % 4}));
        if i % 5 == 0 {
            app.post_ok(&format!("{base}/stamp"), json!({"stamps": -1}));
        }
        if i % 2 == 0 {
            app.post_ok(&format!("{base}/redeem"), json!({"reward_id": reward}));
        }
        if i % 3 == 0 {
            let store = app.store_id;
            let cc2 = app.write_tx(|tx| {
                let card = stampd::db::cards::find(tx, store, cake).unwrap().unwrap();
                stampd::db::customer_cards::enrol(tx, store, id, &card, &Default::default())
                    .unwrap()
            });
            app.post_ok(
                &app.store_path(&format!("/customers/{id}/customer_cards/{cc2}/stamp")),
                json!({"stamps": 4}),
            );
        }
    }
    // An erased customer is not exported.
    let gone = app
        .create_customer(json!({"customer": {"first_name": "Gone", "email": "gone@example.com"}}));
    assert_eq!(
        app.delete(&app.store_path(&format!("/customers/{}", gone["id"])))
            .status,
        204
    );
    (coffee, cake)
}

/// What must survive a move, by email or phone: everything but ids and times.
fn essentials(app: &TestApp, token: &str, store: i64) -> Vec<Value> {
    let list = app.request(
        "GET",
        &format!("/api/v1/accounts/{store}/customers?items=100"),
        Some(token),
        None,
        None,
    );
    let mut out: Vec<Value> = list.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let cards: Vec<Value> = c["customer_cards"]
                .as_array()
                .unwrap()
                .iter()
                .map(|cc| json!([cc["card_name"], cc["code"], cc["stamps_count"]]))
                .collect();
            json!({
                "first_name": c["first_name"], "last_name": c["last_name"], "email": c["email"],
                "phone": c["phone"], "birthday": c["birthday"], "metadata": c["metadata"],
                "external_references": c["external_references"], "cards": cards,
            })
        })
        .collect();
    out.sort_by_key(|c| c["phone"].to_string());
    out
}

#[test]
fn export_customers_imports_into_an_empty_store_with_everything_kept() {
    let app = spawn_app();
    seed(&app);
    let csv = app.get(&app.store_path("/exports/customers.csv"));
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    assert!(!csv.text.contains("gone@example.com"));
    assert!(csv.text.starts_with("id,first_name,last_name,email,phone,birthday,metadata,external_references,card_name,code,stamps,created_at\n"));

    let (other, token) = app.new_store("New home");
    for (name, required) in [("Coffee", 5), ("Cake", 8)] {
        let r = app.request(
            "POST",
            &format!("/api/v1/accounts/{other}/cards"),
            Some(&token),
            Some("application/json"),
            Some(
                &json!({"card": {"name": name, "stamps_required": required, "initial_stamps": 1}})
                    .to_string(),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = app.send(
        "POST",
        &format!("/api/v1/accounts/{other}/imports"),
        Some(&token),
        Some("text/csv"),
        Some(&csv.bytes),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["skipped"], json!([]), "{}", r.text);
    assert_eq!(r.body["created"], 12);
    let before = essentials(&app, &app.token, app.store_id);
    let after = essentials(&app, &token, other);
    assert_eq!(before.len(), 12);
    assert_eq!(before, after);
    // Exported again, the new store's file is the old one's but for ids and times.
    let again = app.request(
        "GET",
        &format!("/api/v1/accounts/{other}/exports/customers.csv"),
        Some(&token),
        None,
        None,
    );
    let strip = |text: &str| -> Vec<String> {
        let mut rows: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| {
                let fields: Vec<&str> = l.split(',').collect();
                fields[1..fields.len() - 1].join(",")
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(strip(&csv.text), strip(&again.text));
}

#[test]
fn export_ledger_sums_to_the_balances_and_keeps_to_its_dates() {
    let app = spawn_app();
    seed(&app);
    let csv = app.get(&app.store_path("/exports/ledger.csv"));
    assert_eq!(csv.status, 200, "{}", csv.text);
    let mut reader = ::csv::Reader::from_reader(csv.text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut sums: HashMap<i64, i64> = HashMap::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut rows = 0;
    for record in reader.records() {
        let r = record.unwrap();
        *sums
            .entry(r[col("customer_card_id")].parse().unwrap())
            .or_default() += r[col("stamps")].parse::<i64>().unwrap();
        kinds.insert(r[col("kind")].to_string());
        rows += 1;
    }
    let balances: HashMap<i64, i64> = app
        .conn()
        .prepare("SELECT id, stamps_count FROM customer_cards")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sums, balances, "each card's ledger rows sum to its balance");
    assert!(
        kinds.contains("redemption")
            && kinds.contains("welcome_bonus")
            && kinds.contains("adjustment"),
        "{kinds:?}"
    );

    // Dates: a period that ends before everything holds nothing; one around today all.
    let today = &csv.text.lines().nth(1).unwrap().split(',').nth(1).unwrap()[..10];
    let none = app.get(&app.store_path("/exports/ledger.csv?to=2000-01-01"));
    assert_eq!(none.text.lines().count(), 1, "{}", none.text);
    let all = app.get(&app.store_path(&format!("/exports/ledger.csv?from={today}&to={today}")));
    assert_eq!(all.text.lines().count(), rows + 1);
    let bad = app.get(&app.store_path("/exports/ledger.csv?from=yesterday"));
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.body["errors"]["from"].is_array());
    // Another store's export is 404, as every other store's path.
    let (other, _) = app.new_store("Other");
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{other}/exports/ledger.csv"))
            .status,
        404
    );
}
