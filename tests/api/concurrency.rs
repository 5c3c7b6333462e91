//! Many clients at once on one card: no lost stamps, one ledger row per request, never a
//! negative balance, never a reward redeemed twice on the same stamps.

use std::collections::HashSet;
use std::sync::Barrier;

use serde_json::json;

use crate::stamps::{card, enrol, reward, Enrolled, REDEEM_FAILED};
use crate::support::app::*;

const CLIENTS: usize = 16;

fn app() -> TestApp {
    spawn_app_with(|s| s.rate_limit_per_minute = 0)
}

/// Runs `CLIENTS` threads that start together; `f(client)` gives each one's results.
fn together<T: Send>(f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(CLIENTS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    f(c)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    })
}

/// Checks the ledger as a serial history: each row's balance is the one before plus
/// its delta, never below zero, and the last is the card's count. Returns the rows.
fn assert_serial_ledger(app: &TestApp, cc: &Enrolled) -> Vec<(String, i64, i64)> {
    let rows = cc.ledger_rows(app);
    let mut balance = 0;
    for (i, (kind, delta, after)) in rows.iter().enumerate() {
        balance += delta;
        assert_eq!(
            *after, balance,
            "row {i} ({kind} {delta:+}) says {after}, the running sum is {balance}"
        );
        assert!(*after >= 0, "row {i} took the balance below zero");
    }
    let count = cc.db_count(app);
    assert_eq!(balance, count, "sum of deltas == stamps_count");
    assert_eq!(cc.count(app), count, "the API shows the stored count");
    let (events, n) = cc.all_events(app);
    assert_eq!(n as usize, rows.len(), "events pagination.count");
    assert_eq!(events.len(), rows.len());
    let api_sum: i64 = events.iter().map(|e| e["stamps"].as_i64().unwrap()).sum();
    assert_eq!(api_sum, count, "sum of the events' deltas == stamps_count");
    rows
}

#[test]
fn sixteen_clients_stamping_one_card_lose_no_stamp() {
    let app = app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    const PER_CLIENT: usize = 25;
    let amount = |c: usize, j: usize| 1 + ((c + j) % 3) as i64;

    let results = together(|c| {
        (0..PER_CLIENT)
            .map(|j| {
                let r = cc.stamp(&app, amount(c, j));
                (r.status, r.body["stamps_count"].as_i64(), r.text)
            })
            .collect::<Vec<_>>()
    });

    let expected: i64 = (0..CLIENTS)
        .flat_map(|c| (0..PER_CLIENT).map(move |j| amount(c, j)))
        .sum();
    let mut seen = HashSet::new();
    for (status, count, text) in results.iter().flatten() {
        assert_eq!(*status, 200, "{text}");
        let count = count.expect("stamps_count in the answer");
        assert!(
            seen.insert(count),
            "two answers saw the same count {count}: they overlapped"
        );
    }
    assert_eq!(cc.db_count(&app), expected);
    let rows = assert_serial_ledger(&app, &cc);
    assert_eq!(
        rows.len(),
        CLIENTS * PER_CLIENT,
        "one ledger row per request"
    );
    assert!(rows.iter().all(|(k, _, _)| k == "stamp"));
    // The highest count any client saw is the final one.
    assert_eq!(seen.iter().max().copied(), Some(expected));
}

#[test]
fn concurrent_stamps_and_corrections_never_go_negative() {
    let app = app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    const PER_CLIENT: usize = 24;
    // Each client gives 2 then takes 1: whatever the interleaving, the balance stays >= 0.
    let results = together(|_| {
        (0..PER_CLIENT)
            .map(|j| {
                let n = if j % 2 == 0 { 2 } else { -1 };
                let r = cc.stamp(&app, n);
                (r.status, r.text)
            })
            .collect::<Vec<_>>()
    });
    for (status, text) in results.iter().flatten() {
        assert_eq!(*status, 200, "{text}");
    }
    assert_eq!(cc.db_count(&app), (CLIENTS * PER_CLIENT / 2) as i64);
    let rows = assert_serial_ledger(&app, &cc);
    assert_eq!(rows.len(), CLIENTS * PER_CLIENT);
    let adjustments = rows.iter().filter(|(k, _, _)| k == "adjustment").count();
    assert_eq!(adjustments, CLIENTS * PER_CLIENT / 2);
}

#[test]
fn a_reward_affordable_once_is_redeemed_once() {
    let app = app();
    let card_id = card(&app, 10, json!({}));
    let coffee = reward(&app, card_id, "Coffee", 8);
    for round in 0..3 {
        let cc = enrol(&app, card_id);
        assert_eq!(cc.stamp(&app, 10).status, 200);

        let results = together(|_| {
            let r = cc.redeem(&app, coffee);
            (r.status, r.body, r.text)
        });
        let ok: Vec<_> = results.iter().filter(|(s, _, _)| *s == 200).collect();
        assert_eq!(
            ok.len(),
            1,
            "round {round}: exactly one redemption succeeds"
        );
        assert_eq!(ok[0].1["redemption"]["stamps_remaining"], 2);
        for (status, body, text) in &results {
            if *status != 200 {
                assert_eq!(*status, 422, "round {round}: {text}");
                assert_eq!(body["error"], REDEEM_FAILED, "{text}");
            }
        }
        assert_eq!(cc.db_count(&app), 2, "round {round}");
        let rows = assert_serial_ledger(&app, &cc);
        assert_eq!(
            rows,
            vec![("stamp".into(), 10, 10), ("redemption".into(), -8, 2)],
            "round {round}"
        );
    }
}

#[test]
fn stamps_and_redemptions_racing_give_a_serial_history() {
    let app = app();
    let card_id = card(&app, 10, json!({}));
    let five = reward(&app, card_id, "Five", 5);
    let cc = enrol(&app, card_id);
    const STAMPS: usize = 20;
    const TRIES: usize = 10;

    // Half the clients stamp, half try to redeem.
    let results = together(|c| {
        if c % 2 == 0 {
            (0..STAMPS)
                .map(|_| {
                    let r = cc.stamp(&app, 1);
                    (true, r.status, r.body, r.text)
                })
                .collect::<Vec<_>>()
        } else {
            (0..TRIES)
                .map(|_| {
                    let r = cc.redeem(&app, five);
                    (false, r.status, r.body, r.text)
                })
                .collect()
        }
    });

    let mut redeemed = 0;
    for (stamp, status, body, text) in results.iter().flatten() {
        if *stamp {
            assert_eq!(*status, 200, "{text}");
        } else if *status == 200 {
            redeemed += 1;
            assert_eq!(body["redemption"]["stamps_spent"], 5);
            assert!(body["redemption"]["stamps_remaining"].as_i64().unwrap() >= 0);
        } else {
            assert_eq!(*status, 422, "{text}");
            assert_eq!(body["error"], REDEEM_FAILED, "{text}");
        }
    }
    let stamped = (CLIENTS / 2 * STAMPS) as i64;
    assert_eq!(cc.db_count(&app), stamped - 5 * redeemed);
    let rows = assert_serial_ledger(&app, &cc);
    assert_eq!(rows.len(), CLIENTS / 2 * STAMPS + redeemed as usize);
    let redemptions = rows.iter().filter(|(k, _, _)| k == "redemption").count();
    assert_eq!(redemptions, redeemed as usize);
}

#[test]
fn the_same_keyed_stamp_from_sixteen_clients_at_once_counts_once() {
    let app = app();
    let cc = enrol(&app, card(&app, 10, json!({})));
    let path = cc.path(&app, "/stamp");
    let results = together(|_| {
        let r = app.request_with_headers(
            "POST",
            &path,
            Some(&app.token),
            Some("application/json"),
            Some(r#"{"stamps": 1}"#),
            &[("Idempotency-Key", "one-tap")],
        );
        (r.status, r.text)
    });
    for (status, text) in &results {
        assert_eq!(*status, 200, "{text}");
        assert_eq!(text, &results[0].1, "every client gets the same answer");
    }
    assert_eq!(cc.db_count(&app), 1);
    assert_eq!(assert_serial_ledger(&app, &cc).len(), 1);
}

#[test]
fn clients_on_different_cards_do_not_disturb_each_other() {
    let app = app();
    let card_id = card(&app, 10, json!({}));
    let cards: Vec<Enrolled> = (0..4).map(|_| enrol(&app, card_id)).collect();
    const PER_CLIENT: usize = 10;
    let results = together(|c| {
        let cc = &cards[c % cards.len()];
        (0..PER_CLIENT)
            .map(|_| cc.stamp(&app, 1).status)
            .collect::<Vec<_>>()
    });
    assert!(results.iter().flatten().all(|s| *s == 200));
    for cc in &cards {
        assert_eq!(
            cc.db_count(&app),
            (CLIENTS / cards.len() * PER_CLIENT) as i64
        );
        assert_serial_ledger(&app, cc);
    }
}
