//! What a search may cost: a search whose letters are too common among the store's
//! customers is cut off at its budget of CPU time (422 on `search`), and however many
//! costly searches run, they never hold every reader, so a customer show is answered.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use stampd::db::customers::CustomerFields;
use stampd::domain::Email;

use crate::support::app::*;

/// `n` customers whose names and emails are long runs of "a": every trigram of a search
/// for "aaa…" is in every one of them, many times over, which is what makes such a
/// search costly. Returns the id of the last one.
fn crowd_of_a(app: &TestApp, n: usize) -> i64 {
    let fields: Vec<CustomerFields> = (0..n)
        .map(|k| CustomerFields {
            first_name: "a".repeat(100),
            last_name: Some(format!("Lee{k}")),
            email: Some(Email::from_stored(format!(
                "{}{k}@aaa.example",
                "a".repeat(60)
            ))),
            ..Default::default()
        })
        .collect();
    let store = app.store_id;
    let ids = app.write_tx(|tx| stampd::db::customers::insert_many(tx, store, &fields).unwrap());
    *ids.last().unwrap()
}

fn search(app: &TestApp, term: &str) -> Resp {
    let q: String = form_urlencoded::byte_serialize(term.as_bytes()).collect();
    app.get(&app.store_path(&format!("/customers?search={q}")))
}

/// The most a search may ask for: 255 times "a".
fn worst_search() -> String {
    "a".repeat(255)
}

#[test]
fn a_search_too_broad_for_its_budget_is_422_naming_search() {
    let app = spawn_app_with(|s| s.search_budget_ms = 20);
    crowd_of_a(&app, 5000);

    let r = search(&app, &worst_search());
    assert_eq!(r.status, 422, "{}", &r.text[..r.text.len().min(300)]);
    assert_eq!(r.body["error"], "Validation failed");
    let message = r.body["errors"]["search"][0].as_str().unwrap();
    assert!(message.starts_with("is too broad"), "{message}");
    assert_eq!(r.body["errors"].as_object().unwrap().len(), 1, "{}", r.body);

    // Searches within the budget answer as ever, broad ones included: what counts is
    // the work, not the number of matches.
    let r = search(&app, "Lee4242");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["pagination"]["count"], 1);
    let r = search(&app, "aaa");
    assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(300)]);
    assert_eq!(r.body["pagination"]["count"], 5000);
    let r = app.get(&app.store_path("/customers?items=5"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["pagination"]["count"], 5000);
}

#[test]
fn a_customer_show_is_answered_while_costly_searches_hold_the_readers() {
    // Two readers and searches that take a long while each (their budget out of the
    // way): the searches may hold one reader, never both. Were they to hold both, the
    // show would wait for one of them to end.
    let app = Arc::new(spawn_app_with(|s| {
        s.read_pool_size = 2;
        s.search_budget_ms = 60_000;
        s.rate_limit_per_minute = 0;
    }));
    let customer = crowd_of_a(&app, 10_000);

    let took: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let searches: Vec<_> = (0..3)
        .map(|_| {
            let (app, took) = (app.clone(), took.clone());
            thread::spawn(move || {
                let started = Instant::now();
                let r = search(&app, &worst_search());
                took.lock().unwrap().push(started.elapsed());
                r.status
            })
        })
        .collect();
    // Let the searches reach the server and take their readers.
    thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    let r = app.get(&app.store_path(&format!("/customers/{customer}")));
    let show = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], customer);
    for s in searches {
        assert_eq!(s.join().unwrap(), 200);
    }
    // Not a time limit: the show is compared with the searches it ran beside. Had it
    // queued behind one, it would have taken most of that search's time.
    let shortest = *took.lock().unwrap().iter().min().unwrap();
    assert!(
        show * 4 < shortest,
        "the show took {show:?}, the shortest search {shortest:?}: it waited for a search"
    );
}
