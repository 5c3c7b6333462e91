//! The sender's own rules: backoff, the bell, and which rows go out together.

use super::*;

fn backoff(base_secs: u64, max_attempts: u32) -> Backoff {
    Backoff {
        max_attempts,
        base: Duration::from_secs(base_secs),
    }
}

/// Every wait lies between the doubling step and half as long again, whatever the
/// draw; the draws differ; after the last try there is no wait.
#[test]
fn the_jittered_wait_stays_within_its_bounds() {
    let b = backoff(30, 8);
    for tries in 1..8 {
        let step = Duration::from_secs(30 << (tries - 1));
        assert_eq!(b.step(tries), step);
        assert_eq!(b.wait(tries, 0.0), Some(step), "no extra at 0");
        assert_eq!(b.wait(tries, 1.0), Some(step + step / 2), "at most half");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let w = b.random_wait(tries).expect("a retry follows");
            assert!(w >= step && w <= step + step / 2, "try {tries}: {w:?}");
            seen.insert(w);
        }
        assert!(
            seen.len() > 100,
            "the extra is random: {} draws",
            seen.len()
        );
    }
    assert_eq!(b.wait(8, 0.5), None, "the 8th failure was the last try");
    assert_eq!(b.random_wait(9), None);
    // Odd draws are taken as no extra.
    assert_eq!(b.wait(1, f64::NAN), Some(Duration::from_secs(30)));
    assert_eq!(b.wait(1, -1.0), Some(Duration::from_secs(30)));
}

#[test]
fn the_step_stops_doubling_and_never_overflows() {
    let b = backoff(86_400, 100);
    assert_eq!(b.step(21), Duration::from_secs(86_400 << 20));
    assert_eq!(b.step(99), b.step(21));
    let w = b.wait(99, 0.999).unwrap();
    assert!(w >= b.step(99));
    // Far beyond what a timestamp holds: the last one it does.
    assert_eq!(at(Duration::MAX), "9999-12-31T23:59:59.999Z");
    assert!(at(w).as_str() > time_fmt::now().as_str());
    // A zero base retries at once.
    assert_eq!(backoff(0, 3).wait(2, 0.9), Some(Duration::ZERO));
}

/// A ring while a sender is busy is not missed; a ring for another channel is not
/// heard; a stop ends every wait.
#[test]
fn the_bell_keeps_rings_and_stops() {
    let outbox = Outbox::new();
    let heard = outbox.heard("sms");
    outbox.wake();
    let start = std::time::Instant::now();
    assert!(outbox.wait("sms", heard, Duration::from_secs(10)));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "rang before waiting"
    );
    let heard = outbox.heard("sms");
    outbox.wake_channels(&["apns".to_string()]);
    assert_eq!(outbox.heard("sms"), heard, "a ring for apns only");
    assert_ne!(outbox.heard("apns"), heard);
    outbox.wake_channels(&["google".to_string(), "sms".to_string()]);
    assert!(outbox.wait("sms", heard, Duration::from_secs(10)));
    let heard = outbox.heard("sms");
    assert!(
        outbox.wait("sms", heard, Duration::from_millis(20)),
        "timed out"
    );
    let other = outbox.clone();
    let waiter = std::thread::spawn(move || other.wait("sms", heard, Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(50));
    outbox.stop();
    assert!(!waiter.join().unwrap(), "stopped");
    assert!(outbox.stopped());
}

fn due(id: i64, address: &str) -> Due {
    Due {
        id,
        channel: "apns".into(),
        store_id: 1,
        customer_card_id: Some(1),
        address: address.into(),
        payload: None,
        attempts: 0,
        store_name: "Shop".into(),
        card: None,
    }
}

/// With merging, every row of an address a round found is one send, its newest row,
/// even where the rows are more than go out together; without, each row is its own.
#[test]
fn rows_of_one_address_found_in_a_round_are_one_send() {
    let rows = || {
        vec![
            due(1, "aa"),
            due(2, "bb"),
            due(3, "aa"),
            due(4, "cc"),
            due(5, "aa"),
            due(6, "bb"),
        ]
    };
    let shape = |groups: Vec<Vec<Vec<Due>>>| -> Vec<Vec<Vec<i64>>> {
        groups
            .into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|s| s.iter().map(|d| d.id).collect())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        shape(groups(rows(), 2, true)),
        [vec![vec![1, 3, 5], vec![2, 6]], vec![vec![4]]],
        "the last of each send goes out: 5, 6, 4"
    );
    assert_eq!(
        shape(groups(rows(), 10, false)),
        [vec![vec![1], vec![2], vec![3], vec![4], vec![5], vec![6]]]
    );
    assert!(groups(Vec::new(), 3, true).is_empty());
}
