//! Lists of stores with thousands of customers whose ids interleave with another
//! store's: deep pages start from the per-block customer counts, and searches read the
//! store's own range of the search index. Every page is compared with the list worked
//! out from the customers themselves.

use serde_json::{json, Value};
use stampd::db;
use stampd::domain::Email;

use crate::support::app::*;

/// Imports customers number `range` into `store` in one transaction; their ids,
/// ascending. Every fourth is a "Quillfeather".
fn import(app: &TestApp, store: i64, prefix: &str, range: std::ops::Range<usize>) -> Vec<i64> {
    let fields: Vec<db::customers::CustomerFields> = range
        .map(|i| db::customers::CustomerFields {
            first_name: format!("{prefix}{i}"),
            last_name: Some(if i % 4 == 0 { "Quillfeather" } else { "Brown" }.into()),
            email: Some(Email::from_stored(
                format!("{prefix}{i}@example.com").to_lowercase(),
            )),
            phone: None,
            birthday: None,
            metadata: Default::default(),
        })
        .collect();
    app.write_tx(|tx| db::customers::insert_many(tx, store, &fields).unwrap())
}

fn get(app: &TestApp, token: &str, store: i64, query: &str) -> Resp {
    let r = app.request(
        "GET",
        &format!("/api/v1/accounts/{store}/customers?{query}"),
        Some(token),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r
}

fn ids(body: &Value) -> Vec<i64> {
    body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// Walks every page of `query` at `items` per page: their concatenation must be
/// `expected` (newest first), each page must report `expected.len()` as the count, and
/// the page after the last is empty.
fn assert_pages(
    app: &TestApp,
    token: &str,
    store: i64,
    query: &str,
    items: usize,
    expected: &[i64],
) {
    let pages = expected.len().div_ceil(items).max(1);
    let mut seen = Vec::new();
    for page in 1..=pages + 1 {
        let q = format!("{query}&items={items}&page={page}");
        let r = get(app, token, store, &q);
        assert_eq!(r.body["pagination"]["count"], expected.len(), "{q}");
        assert_eq!(r.body["pagination"]["pages"], pages, "{q}");
        let got = ids(&r.body);
        if page > pages {
            assert!(got.is_empty(), "{q}: past the end: {got:?}");
        } else {
            let from = (page - 1) * items;
            let to = (from + items).min(expected.len());
            assert_eq!(got, expected[from..to], "{q}");
        }
        seen.extend(got);
    }
    assert_eq!(seen, expected, "{query} at {items} per page");
}

#[test]
fn deep_pages_and_searches_of_interleaved_stores_list_each_live_customer_once() {
    let app = spawn_app();
    let (other, other_token) = app.new_store("Other Store");
    let ours = app.store_id;
    // Ids interleave in runs that do not line up with the 1,024-id blocks.
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    for (store, n) in [
        (ours, 700),
        (other, 500),
        (ours, 1_500),
        (other, 1_300),
        (ours, 900),
    ] {
        if store == ours {
            mine.extend(import(&app, ours, "Mine", mine.len()..mine.len() + n));
        } else {
            theirs.extend(import(
                &app,
                other,
                "Theirs",
                theirs.len()..theirs.len() + n,
            ));
        }
    }
    // A few more through the API, and some erased (among them a whole run of ids).
    for i in 0..5 {
        let c = app.create_customer(json!({"customer": {"first_name": "Late", "last_name": format!("Quillfeather{i}"), "email": format!("late{i}@example.com")}}));
        mine.push(c["id"].as_i64().unwrap());
    }
    let erased: Vec<i64> = mine
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 97 == 5 || (1_000..1_040).contains(i))
        .map(|(_, id)| *id)
        .collect();
    for id in &erased {
        let r = app.delete(&app.store_path(&format!("/customers/{id}")));
        assert_eq!(r.status, 204, "erase {id}: {}", r.text);
    }
    let r = app.request(
        "DELETE",
        &format!("/api/v1/accounts/{other}/customers/{}", theirs[7]),
        Some(&other_token),
        None,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);

    let mut live: Vec<i64> = mine
        .iter()
        .filter(|id| !erased.contains(id))
        .copied()
        .collect();
    live.sort_unstable_by(|a, b| b.cmp(a));
    let token = app.token.clone();
    assert_pages(&app, &token, ours, "", 100, &live);
    assert_pages(&app, &token, ours, "", 25, &live);
    // A page size that never lines up with a block.
    for page in [1, 146, 147, 300, 440, 441, 442] {
        let r = get(&app, &token, ours, &format!("items=7&page={page}"));
        let from = ((page - 1) * 7).min(live.len());
        let to = (from + 7).min(live.len());
        assert_eq!(ids(&r.body), live[from..to], "items=7&page={page}");
    }

    // The other store's pages hold its own customers only.
    let mut their_live: Vec<i64> = theirs
        .iter()
        .filter(|&&id| id != theirs[7])
        .copied()
        .collect();
    their_live.sort_unstable_by(|a, b| b.cmp(a));
    assert_pages(&app, &other_token, other, "", 100, &their_live);

    // A fragment that matches a quarter of each store: its matches in this store only,
    // newest first, erased customers left out (worked out here with LIKE).
    let expect = |store: i64, like: &str| -> Vec<i64> {
        let conn = app.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id FROM customers WHERE store_id = ?1 AND erased_at IS NULL
                 AND (first_name || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, ''))
                     LIKE ?2
                 ORDER BY id DESC",
            )
            .unwrap();
        stmt.query_map(rusqlite::params![store, like], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let quill = expect(ours, "%illfeat%");
    assert!(quill.len() > 700, "{}", quill.len());
    assert_pages(&app, &token, ours, "search=illfeat", 100, &quill);
    let their_quill = expect(other, "%quillfeather%");
    assert!(their_quill.len() > 400, "{}", their_quill.len());
    assert_pages(
        &app,
        &other_token,
        other,
        "search=QUILLFEATHER",
        100,
        &their_quill,
    );

    // Email fragments and an exact email, in each store.
    let ours_150 = expect(ours, "%150@example%");
    assert_eq!(ours_150.len(), 3, "mine150, mine1150, mine2150");
    assert_pages(&app, &token, ours, "search=150%40example", 25, &ours_150);
    let theirs_150 = expect(other, "%150@example%");
    assert_eq!(theirs_150.len(), 2, "theirs150, theirs1150");
    assert_pages(
        &app,
        &other_token,
        other,
        "search=150%40example",
        25,
        &theirs_150,
    );
    assert_pages(&app, &other_token, other, "search=mine150", 25, &[]);
    assert_pages(&app, &token, ours, "search=theirs3%40example.com", 25, &[]);
    assert_pages(
        &app,
        &other_token,
        other,
        "search=theirs3%40example.com",
        25,
        &[theirs[3]],
    );

    // The block counts add up to the store counters.
    let conn = app.conn();
    for store in [ours, other] {
        let (blocks, counter): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT sum(customers) FROM customer_pages WHERE store_id = ?1),
                        (SELECT customers_count FROM stores WHERE id = ?1)",
                [store],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(blocks, counter, "store {store}");
    }
}
