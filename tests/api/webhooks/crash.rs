//! SIGKILL while stamps and deliveries are in flight: after a restart every
//! acknowledged stamp's `stamp.earned` reaches the receiver (a duplicate keeps its
//! `webhook-id` and body), and every event received is of a stamp that was committed.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::support::binary::*;
use crate::support::receiver::Receiver;
use crate::support::tls::TestCa;

#[test]
fn webhook_events_survive_sigkill() {
    let ca = TestCa::new("webhook receivers' CA");
    let rx = Receiver::https(&ca, &["localhost"]);
    rx.delay(Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(&dir.path().join("ca.pem"));
    let env = Env::new(&[
        ("webhooks_allow_private_targets", "true"),
        (
            "extra_ca_file",
            &format!("{:?}", ca_file.display().to_string()),
        ),
        ("webhook_retry_base_secs", "0.01"),
    ]);
    let (server, client) = first_start(&env);
    let mut server = server;
    let card = client.create_card("Coffee");
    let mut cards = Vec::new();
    for n in 0..3 {
        let r = client.post(
            &client.store_path("/customers"),
            &json!({"customer": {"first_name": "Ann", "email": format!("a{n}@example.com")}, "card_id": card}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        cards.push((
            r.body["id"].as_i64().unwrap(),
            r.body["customer_card"]["id"].as_i64().unwrap(),
        ));
    }
    let r = client.post(
        &client.store_path("/webhook_subscriptions"),
        &json!({"target_url": rx.url("localhost", "/hook"), "events": ["stamp.earned"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // Stamps from three clients until the server dies under them.
    let acked: Arc<Mutex<BTreeSet<(i64, i64)>>> = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = cards
        .iter()
        .map(|&(customer, cc)| {
            let (client, acked, stop) = (client.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let path =
                    client.store_path(&format!("/customers/{customer}/customer_cards/{cc}/stamp"));
                while !stop.load(Ordering::SeqCst) {
                    match client.try_send(
                        "POST",
                        &path,
                        Some(&client.token),
                        Some(&json!({"stamps": 1})),
                        &[],
                    ) {
                        Ok(r) if r.status == 200 => {
                            let count = r.body["stamps_count"].as_i64().unwrap();
                            acked.lock().unwrap().insert((cc, count));
                        }
                        Ok(r) => panic!("stamp answered {}: {}", r.status, r.text),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "stamps were answered before the kill: {}",
        acked.len()
    );

    let server = Server::start(&env);
    let client = client.against(&server);
    let received = |rx: &Receiver| -> BTreeSet<(i64, i64)> {
        rx.received()
            .iter()
            .map(|r| {
                let d = r.json()["data"].clone();
                (
                    d["customer_card"]["id"].as_i64().unwrap(),
                    d["customer_card"]["stamps_count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !acked.is_subset(&received(&rx)) {
        assert!(
            std::time::Instant::now() < deadline,
            "missing: {:?}",
            acked.difference(&received(&rx)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every event received is of a committed stamp; a duplicate is the same event.
    let conn = open_db(&env.db);
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    for r in rx.received() {
        let id = r.header("webhook-id").to_string();
        if let Some(earlier) = bodies.insert(id.clone(), r.body.clone()) {
            assert_eq!(earlier, r.body, "a duplicate of {id} is the same event");
        }
        let ledger = r.json()["data"]["ledger_event"]["id"].as_i64().unwrap();
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM stamp_events WHERE id = ?1",
                [ledger],
                |x| x.get(0),
            )
            .unwrap();
        assert_eq!(kept, 1, "event {id} is of a committed stamp");
    }
    let counts: i64 = conn
        .query_row(
            "SELECT count(*) FROM stamp_events WHERE kind = 'stamp'",
            [],
            |x| x.get(0),
        )
        .unwrap();
    assert_eq!(bodies.len() as i64, counts, "one event per committed stamp");
    drop(client);
}
