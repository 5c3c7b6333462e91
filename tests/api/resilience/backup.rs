//! Backup under load: `stampd backup --out FILE` run while clients write without pause
//! makes a clean copy holding every write acknowledged before it started; `stampd
//! restore FILE` (refused while the server runs) puts it back, and the API serves it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::checks::*;
use crate::support::binary::*;

/// A write the clients made, with when it was sent and when it was answered.
#[derive(Debug, Clone)]
enum Write {
    /// A customer enrolled in the card: its email, ids, and the customer card's id.
    Customer { email: String, id: i64, card: i64 },
    /// A stamp on a customer card, with the balance the answer showed.
    Stamp { card: i64, stamps_count: i64 },
}

#[derive(Debug, Clone)]
struct Done {
    write: Write,
    sent: Instant,
    acked: Instant,
}

/// An email whose create request was sent (answered or not).
#[derive(Debug, Clone)]
struct Sent {
    email: String,
    at: Instant,
}

#[test]
fn a_backup_taken_under_constant_writes_is_complete_and_restores() {
    let env = Env::new(&[]);
    let (mut server, client) = first_start(&env);
    let card = client.create_card("Coffee");

    let done: Arc<Mutex<Vec<Done>>> = Arc::new(Mutex::new(Vec::new()));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (client, done, sent, stop) =
                (client.clone(), done.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                let give_up = Instant::now() + Duration::from_secs(20);
                for n in 0..100_000 {
                    if stop.load(Ordering::SeqCst) || Instant::now() > give_up {
                        return;
                    }
                    let email = format!("bk-t{t}-n{n}@example.com");
                    let at = Instant::now();
                    sent.lock().unwrap().push(Sent {
                        email: email.clone(),
                        at,
                    });
                    let r = client.post(
                        &client.store_path("/customers"),
                        &json!({
                            "customer": {"first_name": format!("Bea{n}"), "email": email},
                            "card_id": card,
                        }),
                    );
                    assert_eq!(r.status, 201, "{}", r.text);
                    let acked = Instant::now();
                    let id = r.body["id"].as_i64().unwrap();
                    let cc = r.body["customer_card"]["id"].as_i64().unwrap();
                    done.lock().unwrap().push(Done {
                        write: Write::Customer {
                            email,
                            id,
                            card: cc,
                        },
                        sent: at,
                        acked,
                    });
                    for _ in 0..(n % 3) {
                        let at = Instant::now();
                        let r =
                            client.post(&client.card_path(id, cc, "/stamp"), &json!({"stamps": 1}));
                        assert_eq!(r.status, 200, "{}", r.text);
                        done.lock().unwrap().push(Done {
                            write: Write::Stamp {
                                card: cc,
                                stamps_count: r.body["stamps_count"].as_i64().unwrap(),
                            },
                            sent: at,
                            acked: Instant::now(),
                        });
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(500));
    let out_file = env.dir.path().join("saved").join("backup.db");
    let began = Instant::now();
    let before: Vec<Done> = done.lock().unwrap().clone();
    let out = env.run(&["backup", "--out", out_file.to_str().unwrap()]);
    let ended = Instant::now();
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer thread");
    }
    assert!(
        out.status.success(),
        "stampd backup failed: {}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&out).trim(),
        out_file.display().to_string(),
        "backup prints the file"
    );
    let all: Vec<Done> = done.lock().unwrap().clone();
    let sent: Vec<Sent> = sent.lock().unwrap().clone();
    let during = all
        .iter()
        .filter(|d| d.acked > began && d.acked < ended)
        .count();
    assert!(
        before.len() >= 10,
        "few writes before the backup: {}",
        before.len()
    );
    assert!(
        all.iter()
            .any(|d| (d.sent > began && d.acked < ended) || d.acked > ended),
        "the clients kept writing while the backup ran"
    );

    // The backup: whole, and holding every write acknowledged before it began.
    let backup = open_db(&out_file);
    assert_eq!(integrity_check(&backup), "ok");
    assert_eq!(foreign_key_violations(&backup), 0);
    let mut max_ack: BTreeMap<i64, i64> = BTreeMap::new();
    let mut customers_before = 0;
    for d in &before {
        assert!(d.acked < began);
        match &d.write {
            Write::Customer { email, id, card } => {
                customers_before += 1;
                let (found, enrolled): (i64, i64) = backup
                    .query_row(
                        "SELECT count(*), (SELECT count(*) FROM customer_cards
                                            WHERE id = ?3 AND customer_id = ?2)
                         FROM customers WHERE id = ?2 AND email = ?1",
                        rusqlite::params![email, id, card],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!(
                    (found, enrolled),
                    (1, 1),
                    "customer {email} (acknowledged before the backup) is missing from it"
                );
            }
            Write::Stamp { card, stamps_count } => {
                let e = max_ack.entry(*card).or_insert(0);
                *e = (*e).max(*stamps_count);
            }
        }
    }
    for (card, acked) in &max_ack {
        let in_backup = count(
            &backup,
            "SELECT stamps_count FROM customer_cards WHERE id = ?1",
            [card],
        );
        assert!(
            in_backup >= *acked,
            "card {card}: {acked} stamps acknowledged before the backup, {in_backup} in it"
        );
    }
    let bad_ledgers = count(
        &backup,
        "SELECT count(*) FROM customer_cards cc WHERE stamps_count !=
            (SELECT coalesce(sum(stamps), 0) FROM stamp_events WHERE customer_card_id = cc.id)",
        [],
    );
    assert_eq!(bad_ledgers, 0, "ledger sums match balances in the backup");
    let backup_customers = count(&backup, "SELECT count(*) FROM customers", []);
    assert!(backup_customers >= customers_before);
    // Customers whose request was sent after the backup ended are not in it.
    let after: Vec<&Sent> = sent.iter().filter(|s| s.at > ended).collect();
    assert!(!after.is_empty(), "writes continued after the backup");
    for s in &after {
        let n = count(
            &backup,
            "SELECT count(*) FROM customers WHERE email = ?1",
            [&s.email],
        );
        assert_eq!(n, 0, "{} was sent after the backup ended", s.email);
    }
    let backup_stamps: BTreeMap<i64, i64> = backup
        .prepare("SELECT id, stamps_count FROM customer_cards")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let backup_emails: BTreeSet<String> = backup
        .prepare("SELECT email FROM customers")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(backup);

    // Restore refuses while the server runs, and changes nothing.
    let out = env.run(&["restore", out_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "restore while serving");
    let err = stderr(&out);
    assert!(
        err.contains("stampd is running") && err.contains("stop it first"),
        "restore while serving: {err}"
    );
    assert!(
        files_starting_with(env.dir.path(), "x.db.before-restore-").is_empty(),
        "nothing moved aside"
    );
    let (live, listed) = client.customer_counts();
    assert_eq!(live, listed);
    assert_eq!(
        live as usize,
        all.iter()
            .filter(|d| matches!(d.write, Write::Customer { .. }))
            .count(),
        "the live database still has every customer"
    );
    assert!(live > backup_customers, "writes made after the backup");

    // Stop, restore, start again: the API serves the backup's data.
    server.stop();
    let out = env.run(&["restore", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "restore: {}", stderr(&out));
    assert!(stdout(&out).contains("restored"), "{}", stdout(&out));
    let aside = files_starting_with(env.dir.path(), "x.db.before-restore-");
    assert!(
        aside
            .iter()
            .any(|p| !p.to_string_lossy().ends_with("-wal")
                && !p.to_string_lossy().ends_with("-shm")),
        "the old file is moved aside: {aside:?}"
    );
    assert!(
        stderr(&out).contains("before-restore-"),
        "restore says where the old file went: {}",
        stderr(&out)
    );
    let old = open_db(
        aside
            .iter()
            .find(|p| {
                !p.to_string_lossy().contains("-wal") && !p.to_string_lossy().contains("-shm")
            })
            .unwrap(),
    );
    assert_eq!(
        count(&old, "SELECT count(*) FROM customers", []),
        live,
        "the file moved aside is the old database, whole"
    );
    drop(old);

    server = Server::start(&env);
    assert!(
        !server.stdout().contains("curl"),
        "a restored database is not a first start"
    );
    let client = client.against(&server);
    let (restored, listed) = client.customer_counts();
    assert_eq!(restored, backup_customers, "customers_count after restore");
    assert_eq!(listed, backup_customers, "list count after restore");
    for d in &all {
        let Write::Customer { email, id, card } = &d.write else {
            continue;
        };
        let r = client.get(&client.store_path(&format!("/customers/{id}")));
        if backup_emails.contains(email) {
            assert_eq!(r.status, 200, "{email}: {}", r.text);
            assert_eq!(r.body["email"], email.as_str());
            let c = client.get(&client.card_path(*id, *card, ""));
            assert_eq!(c.status, 200, "{}", c.text);
            assert_eq!(c.body["stamps_count"], backup_stamps[card], "card {card}");
        } else {
            assert!(
                d.acked > began,
                "{email} was acknowledged before the backup"
            );
            // Ids may be reused by later writes only; none were made since the restore.
            assert_eq!(
                r.status, 404,
                "{email} is gone after the restore: {}",
                r.text
            );
        }
    }
    // And it takes writes again.
    let (c, _) = client.enrol(card, "after-restore@example.com");
    assert!(c > 0);
    assert_eq!(client.customer_counts().0, backup_customers + 1);
    server.stop();
    eprintln!(
        "backup test: {} writes acknowledged before the backup, {during} while it ran; backup holds {backup_customers} of {live} customers",
        before.len()
    );
}
