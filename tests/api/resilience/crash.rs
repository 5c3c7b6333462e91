//! Crash: clients stamp cards with Idempotency-Keys while the server is killed with
//! SIGKILL at random moments. After each restart, every request that was never
//! answered is sent again with its key; every key must then count exactly once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;

use super::checks::*;
use crate::support::binary::*;

const ROUNDS: usize = 4;
const CLIENTS: usize = 4;
const CARDS: usize = 3;

/// One stamp request the clients sent (or tried to send).
#[derive(Debug, Clone)]
struct Attempt {
    key: String,
    /// Index into the cards.
    card: usize,
    /// The `stamps_count` of the 200 answer, once one came.
    acked: Option<i64>,
    /// An HTTP answer other than 200 (a failure of the test).
    unexpected: Option<String>,
}

/// Sends stamps from `CLIENTS` threads until each one fails to get an answer (the
/// server died) or `give_up` passes.
fn load(
    client: &Client,
    cards: &[(i64, i64)],
    round: usize,
    attempts: &Arc<Mutex<Vec<Attempt>>>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..CLIENTS)
        .map(|t| {
            let client = client.clone();
            let cards = cards.to_vec();
            let attempts = attempts.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let give_up = Instant::now() + Duration::from_secs(15);
                for n in 0..100_000usize {
                    if stop.load(Ordering::SeqCst) || Instant::now() > give_up {
                        return;
                    }
                    let card = (t + n) % cards.len();
                    let key = format!("crash-r{round}-t{t}-n{n}");
                    // Recorded before it is sent: a request may commit and die unanswered.
                    let index = {
                        let mut a = attempts.lock().unwrap();
                        a.push(Attempt {
                            key: key.clone(),
                            card,
                            acked: None,
                            unexpected: None,
                        });
                        a.len() - 1
                    };
                    let (customer, id) = cards[card];
                    let result = client.try_send(
                        "POST",
                        &client.card_path(customer, id, "/stamp"),
                        Some(&client.token),
                        Some(&json!({"stamps": 1})),
                        &[("Idempotency-Key", &key)],
                    );
                    let mut a = attempts.lock().unwrap();
                    match result {
                        Ok(r) if r.status == 200 => {
                            a[index].acked = Some(r.body["stamps_count"].as_i64().expect("count"));
                        }
                        Ok(r) => {
                            a[index].unexpected = Some(format!("{} {}", r.status, r.text));
                            return;
                        }
                        // No answer: the server is gone.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

/// Checks, through the API and in the file, that every key sent so far counts exactly
/// once on its card.
fn verify(client: &Client, env: &Env, cards: &[(i64, i64)], attempts: &[Attempt], when: &str) {
    let conn = open_db(&env.db);
    for (i, &(customer, id)) in cards.iter().enumerate() {
        let mine: Vec<&Attempt> = attempts.iter().filter(|a| a.card == i).collect();
        let n = mine.len() as i64;
        let r = client.get(&client.card_path(customer, id, ""));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["stamps_count"], n,
            "{when}: card {id} has {} stamps, {n} distinct keys were sent",
            r.body["stamps_count"]
        );
        // Every answer (first or replayed) names a different balance: 1..=n, each once.
        let mut balances: Vec<i64> = mine.iter().map(|a| a.acked.expect("acked")).collect();
        balances.sort_unstable();
        let expected: Vec<i64> = (1..=n).collect();
        assert_eq!(
            balances, expected,
            "{when}: card {id}: the answers' stamps_count are not 1..={n} each once"
        );
        let (events, count) = client.all_events(customer, id);
        assert_eq!(count, n, "{when}: card {id}: events count");
        assert_eq!(events.len() as i64, n, "{when}: card {id}: events listed");
        let sum: i64 = events.iter().map(|e| e["stamps"].as_i64().unwrap()).sum();
        assert_eq!(sum, n, "{when}: card {id}: sum of the ledger's deltas");
        assert!(
            events
                .iter()
                .all(|e| e["kind"] == "stamp" && e["stamps"] == 1),
            "{when}: card {id}: only single stamps were sent"
        );
        let mut after: Vec<i64> = events
            .iter()
            .map(|e| e["balance_after"].as_i64().unwrap())
            .collect();
        after.sort_unstable();
        assert_eq!(after, expected, "{when}: card {id}: ledger balances");

        let (rows, total, stored): (i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), coalesce(sum(stamps), 0),
                        (SELECT stamps_count FROM customer_cards WHERE id = ?1)
                 FROM stamp_events WHERE customer_card_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (rows, total, stored),
            (n, n, n),
            "{when}: card {id}: stamp_events rows, their sum, stamps_count in the file"
        );
    }
    let keys = count(
        &conn,
        "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'crash-%'",
        [],
    );
    assert_eq!(
        keys,
        attempts.len() as i64,
        "{when}: one stored answer per key"
    );
    let stored_ok = count(
        &conn,
        "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'crash-%' AND status = 200",
        [],
    );
    assert_eq!(stored_ok, keys, "{when}: every stored answer is a 200");
    assert_eq!(integrity_check(&conn), "ok", "{when}: integrity_check");
    // The insights' daily rollups are written with each ledger row: a kill leaves
    // them equal to a recount of the ledger (the store counts UTC days).
    let differing = count(
        &conn,
        "SELECT count(*) FROM (
            SELECT substr(e.created_at, 1, 10) AS day, cc.card_id, sum(e.stamps) AS stamps
            FROM stamp_events e JOIN customer_cards cc ON cc.id = e.customer_card_id
            WHERE e.kind = 'stamp' GROUP BY 1, 2) l
         FULL JOIN (SELECT day, card_id, stamps FROM insight_days WHERE stamps > 0) r
            ON r.day = l.day AND r.card_id = l.card_id
         WHERE l.stamps IS NOT r.stamps",
        [],
    );
    assert_eq!(
        differing, 0,
        "{when}: rollups equal a recount of the ledger"
    );
}

/// Right after a restart, before any retry: every acknowledged key is stored with the
/// answer the client got, and each card has exactly one ledger row per stored key.
fn check_after_restart(env: &Env, cards: &[(i64, i64)], attempts: &[Attempt], round: usize) {
    let conn = open_db(&env.db);
    let mut stmt = conn
        .prepare("SELECT status, body FROM idempotency_keys WHERE key = ?1")
        .unwrap();
    for a in attempts {
        let Some(acked) = a.acked else { continue };
        let (status, body): (i64, String) = stmt
            .query_row([&a.key], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap_or_else(|e| panic!("round {round}: acknowledged key {} is lost: {e}", a.key));
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 200);
        assert_eq!(body["stamps_count"], acked, "round {round}: key {}", a.key);
        assert_eq!(body["id"], cards[a.card].1, "round {round}: key {}", a.key);
    }
    for &(_, id) in cards {
        let (keys, rows, sum, balance): (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM idempotency_keys
                          WHERE key LIKE 'crash-%' AND json_extract(body, '$.id') = ?1),
                        count(*), coalesce(sum(stamps), 0),
                        (SELECT stamps_count FROM customer_cards WHERE id = ?1)
                 FROM stamp_events WHERE customer_card_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (rows, sum, balance),
            (keys, keys, keys),
            "round {round}, card {id}: ledger rows, their sum and the balance must equal \
             the stored keys, before any retry"
        );
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_stamp_and_repeats_none() {
    let env = Env::new(&[]);
    let (server, client) = first_start(&env);
    let mut server = server;
    let mut client = client;
    let card = client.create_card("Coffee");
    let cards: Vec<(i64, i64)> = (0..CARDS)
        .map(|i| client.enrol(card, &format!("crash{i}@example.com")))
        .collect();

    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::new(Mutex::new(Vec::new()));
    let mut rng = rand::rng();
    let mut stats = BTreeMap::new();
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let before = attempts.lock().unwrap().len();
        let threads = load(&client, &cards, round, &attempts, &stop);
        std::thread::sleep(Duration::from_millis(rng.random_range(500..1500)));
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().expect("client thread");
        }
        {
            let a = attempts.lock().unwrap();
            let unexpected: Vec<&String> = a.iter().filter_map(|a| a.unexpected.as_ref()).collect();
            assert!(
                unexpected.is_empty(),
                "round {round}: answers other than 200: {unexpected:?}"
            );
            let acked = a[before..].iter().filter(|a| a.acked.is_some()).count();
            assert!(
                acked > 0,
                "round {round}: no stamp was acknowledged before the kill"
            );
        }

        // Restart on the same file; send every unanswered request again, same key.
        server = Server::start(&env);
        client = client.against(&server);
        let snapshot = attempts.lock().unwrap().clone();
        check_after_restart(&env, &cards, &snapshot, round);
        let (mut replayed, mut fresh) = (0, 0);
        let pending: Vec<(usize, Attempt)> = attempts
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .enumerate()
            .filter(|(_, a)| a.acked.is_none())
            .collect();
        for (index, a) in pending {
            let (customer, id) = cards[a.card];
            let r = client
                .try_send(
                    "POST",
                    &client.card_path(customer, id, "/stamp"),
                    Some(&client.token),
                    Some(&json!({"stamps": 1})),
                    &[("Idempotency-Key", &a.key)],
                )
                .unwrap_or_else(|e| panic!("retry of {}: {e}", a.key));
            assert_eq!(r.status, 200, "retry of {}: {}", a.key, r.text);
            if r.header("Idempotent-Replayed") == Some("true") {
                replayed += 1;
            } else {
                fresh += 1;
            }
            // A second retry is always a replay of the same answer.
            let again = client.send_keyed(customer, id, &a.key);
            assert_eq!(again.status, 200, "{}", again.text);
            assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
            assert_eq!(again.body, r.body, "the replay is the stored answer");
            attempts.lock().unwrap()[index].acked =
                Some(r.body["stamps_count"].as_i64().expect("count"));
        }
        stats.insert(round, (replayed, fresh));
        let snapshot = attempts.lock().unwrap().clone();
        verify(
            &client,
            &env,
            &cards,
            &snapshot,
            &format!("after restart {round}"),
        );
    }

    server.stop();
    let attempts = attempts.lock().unwrap().clone();
    let conn = open_db(&env.db);
    assert_eq!(integrity_check(&conn), "ok");
    assert_eq!(foreign_key_violations(&conn), 0, "foreign_key_check");
    let total = count(
        &conn,
        "SELECT count(*) FROM stamp_events WHERE kind = 'stamp'",
        [],
    );
    assert_eq!(total, attempts.len() as i64, "one ledger row per key");
    eprintln!(
        "crash test: {} keys over {ROUNDS} rounds; (committed-but-unanswered replays, fresh retries) per round: {stats:?}",
        attempts.len()
    );
}

impl Client {
    /// A stamp of one with an Idempotency-Key that must get an answer.
    fn send_keyed(&self, customer: i64, id: i64, key: &str) -> Resp {
        self.try_send(
            "POST",
            &self.card_path(customer, id, "/stamp"),
            Some(&self.token),
            Some(&json!({"stamps": 1})),
            &[("Idempotency-Key", key)],
        )
        .unwrap_or_else(|e| panic!("stamp with key {key}: {e}"))
    }
}
