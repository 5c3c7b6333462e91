//! `backups/latest.db`, the one file to copy: copied again and again while stamps are
//! written, every copy opens alone (no WAL beside it) as a whole stampd database, the
//! copies follow the writes, and once writes stop the next refresh holds them all.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::checks::*;
use crate::support::binary::*;

/// The refresh interval under test.
const EVERY: Duration = Duration::from_secs(1);

/// Stamps in a copy of the database (every stamp of the test is one row).
fn stamps_in(db: &std::path::Path) -> i64 {
    count(
        &open_db(db),
        "SELECT count(*) FROM stamp_events WHERE kind = 'stamp'",
        [],
    )
}

#[test]
fn latest_db_copied_while_stamps_are_written_opens_as_a_complete_database() {
    let env = Env::new(&[("latest_backup_interval_secs", "1")]);
    let (mut server, client) = first_start(&env);
    let card = client.create_card("Coffee");
    let (customer, cc) = client.enrol(card, "latest@example.com");
    let latest = env.dir.path().join("backups").join("latest.db");

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, stop) = (client.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut acked = 0;
            let give_up = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::SeqCst) && Instant::now() < give_up {
                let r = client.post(
                    &client.card_path(customer, cc, "/stamp"),
                    &json!({"stamps": 1}),
                );
                assert_eq!(r.status, 200, "{}", r.text);
                acked += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            acked
        })
    };

    // Copy it as an owner would (cp), as often as possible, for a few refreshes: at least
    // five intervals, longer while fewer than three refreshes were seen (a loaded machine
    // answers fewer stamps and refreshes later), within the writer's 30 s.
    let copies = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut seen: Vec<i64> = Vec::new();
    let mut n = 0;
    let refreshes = |seen: &[i64]| seen.windows(2).filter(|w| w[0] != w[1]).count() + 1;
    while started.elapsed() < 5 * EVERY
        || (refreshes(&seen) < 3 && started.elapsed() < Duration::from_secs(25))
    {
        if latest.exists() {
            n += 1;
            let copy = copies.path().join(format!("copy-{n}.db"));
            std::fs::copy(&latest, &copy).expect("copy latest.db");
            // Alone in its folder: no WAL or shared memory file came along.
            assert_eq!(
                files_starting_with(copies.path(), &format!("copy-{n}.db")).len(),
                1
            );
            stampd::db::backup::verify(&copy)
                .unwrap_or_else(|e| panic!("copy {n} is not a whole stampd database: {e}"));
            assert_eq!(integrity_check(&open_db(&copy)), "ok");
            let stamps = stamps_in(&copy);
            if let Some(last) = seen.last() {
                assert!(
                    stamps >= *last,
                    "copy {n} went back from {last} to {stamps}"
                );
            }
            seen.push(stamps);
            std::fs::remove_file(&copy).unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::SeqCst);
    let acked = writer.join().unwrap();
    seen.dedup();
    assert!(
        seen.len() >= 3,
        "latest.db should have been refreshed during the writes: stamps seen {seen:?}"
    );
    assert!(
        *seen.last().unwrap() < acked,
        "the writes outran the copies"
    );

    // Writes have stopped: within two intervals latest.db holds every one.
    std::thread::sleep(2 * EVERY + Duration::from_millis(500));
    let copy = copies.path().join("final.db");
    std::fs::copy(&latest, &copy).unwrap();
    assert_eq!(
        stamps_in(&copy),
        acked,
        "latest.db after the writes stopped"
    );

    // Private to stampd's user; no temporary file left beside it.
    let mode = std::fs::metadata(&latest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "latest.db mode {mode:o}");
    let backups = latest.parent().unwrap();
    assert_eq!(files_starting_with(backups, ".latest").len(), 0);
    server.stop();
}
