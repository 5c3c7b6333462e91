//! Litestream: the restore drill and what a clean stop does to a running Litestream.
//!
//! The drill runs the real `stampd` under stamp load with the real `litestream`
//! replicating its file to a file replica, SIGKILLs both mid-load, restores the replica
//! to a new path with `stampd restore --from-replica` and starts stampd on it. The
//! restored ledger must be a gap-free prefix of what stampd committed (every stamp up to
//! the newest it holds, in order, none twice), pass `integrity_check`, and serve; the
//! stamps acknowledged but not in it are the replication lag, printed with the drill's
//! other figures. A quiet run (load stopped, two sync intervals, then the kill) loses
//! nothing, and a replica of a database of the first schema restores and migrates.
//!
//! `cargo test litestream` runs these. They need the `litestream` binary: `$LITESTREAM`,
//! else `target/litestream/bin/litestream` (where `.ci/litestream.sh` installs it),
//! else `litestream` on the PATH. Without it they say so and pass, except under
//! `CI=true`, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::checks::*;
use crate::support::binary::*;

/// How often Litestream ships new WAL pages to the replica (its default).
const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Clients stamping at once, each its own card, one stamp after another.
const CLIENTS: usize = 3;
/// The pause of each client between two stamps: a busy counter, not a benchmark (the
/// drill runs beside the other tests).
const PACE: Duration = Duration::from_millis(20);
/// How long the load runs before the kill.
const LOAD_FOR: Duration = Duration::from_secs(3);

/// The `litestream` binary, or `None` (after saying why) where it is missing and this
/// is not CI.
fn litestream() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("LITESTREAM") {
        candidates.push(p.into());
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/litestream/bin/litestream"));
    // The target folder this test binary was built in (<target>/debug/deps/api-...).
    if let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
    {
        candidates.push(target.join("litestream/bin/litestream"));
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        candidates.push(dir.join("litestream"));
    }
    if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(found);
    }
    let why = "the litestream binary is missing (set LITESTREAM, or run `bash .ci/litestream.sh` \
               to install it into target/litestream)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}; CI must run the Litestream drill");
    }
    eprintln!("SKIPPED: Litestream test: {why}");
    None
}

/// A `litestream replicate` child process replicating `db` to the file replica
/// `replica`; killed (SIGKILL) on drop if it still runs.
struct Litestream {
    child: Child,
    log: PathBuf,
}

impl Litestream {
    fn start(bin: &Path, dir: &Path, db: &Path, replica: &Path) -> Litestream {
        // As dist/litestream.yml, with a file replica (and the checks every 250 ms, so
        // a sync interval is what the replica waits for, not the look at the WAL).
        let yaml = format!(
            "dbs:\n  - path: {}\n    monitor-interval: 250ms\n    replica:\n      type: file\n      path: {}\n      sync-interval: {}ms\n",
            db.display(),
            replica.display(),
            SYNC_INTERVAL.as_millis()
        );
        Litestream::start_with(bin, dir, &yaml, replica)
    }

    /// Runs `litestream replicate` with the configuration `yaml`, whose replica is the
    /// folder `replica`; returns once the first snapshot is there.
    fn start_with(bin: &Path, dir: &Path, yaml: &str, replica: &Path) -> Litestream {
        let config = dir.join("litestream.yml");
        std::fs::write(&config, yaml).expect("write litestream.yml");
        let log = dir.join("litestream.log");
        let child = Command::new(bin)
            .arg("replicate")
            .arg("-config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("litestream log"))
            .spawn()
            .expect("start litestream");
        let ls = Litestream { child, log };
        // Replicating once the first snapshot is in the replica.
        let deadline = Instant::now() + Duration::from_secs(30);
        while ltx_files_in(&replica.join("ltx")) == 0 {
            assert!(
                Instant::now() < deadline,
                "litestream made no replica: {}",
                ls.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ls
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Litestream {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Finished LTX files under `dir`, at any depth (Litestream writes each as a `.tmp` file
/// first, renamed once whole: one killed mid-write is not a replica yet).
fn ltx_files_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                ltx_files_in(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "ltx"))
            }
        })
        .sum()
}

/// The settings of a stampd that Litestream replicates.
const UNDER_LITESTREAM: &[(&str, &str)] = &[
    ("checkpoint_mode", "\"external\""),
    ("latest_backup_interval_secs", "0"),
];

/// A stamp a client had acknowledged (200), by its note.
struct Acked {
    note: String,
    at: Instant,
}

/// `CLIENTS` threads stamping their own card until `stop` or the server is gone; each
/// returns its acknowledged stamps, in order. Each stamp's note names it.
fn stamp_load(
    client: &Client,
    cards: &[(i64, i64)],
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<Acked>>> {
    cards
        .iter()
        .enumerate()
        .map(|(t, &(customer, card))| {
            let client = client.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let note = format!("drill-t{t}-n{n}");
                    let r = client.try_send(
                        "POST",
                        &client.card_path(customer, card, "/stamp"),
                        Some(&client.token),
                        Some(&json!({"stamps": 1, "note": note})),
                        &[],
                    );
                    match r {
                        Ok(r) if r.status == 200 => acked.push(Acked {
                            note,
                            at: Instant::now(),
                        }),
                        Ok(r) => panic!("a stamp was answered {}: {}", r.status, r.text),
                        // No answer: the server is gone.
                        Err(_) => break,
                    }
                    std::thread::sleep(PACE);
                }
                acked
            })
        })
        .collect()
}

/// The drill's stamps in a database file, in ledger order: (row id, note).
fn drill_ledger(db: &Path) -> Vec<(i64, String)> {
    let conn = open_db(db);
    let mut stmt = conn
        .prepare("SELECT id, note FROM stamp_events WHERE note LIKE 'drill-%' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A server on a fresh database with `CLIENTS` customers enrolled in one card:
/// (server, client, [(customer id, customer card id)]).
fn shop(env: &Env) -> (Server, Client, Vec<(i64, i64)>) {
    let (server, client) = first_start(env);
    let card = client.create_card("Drill");
    let cards = (0..CLIENTS)
        .map(|i| client.enrol(card, &format!("drill{i}@example.com")))
        .collect();
    (server, client, cards)
}

/// `stampd restore --from-replica` of `replica` into a new folder's database.
fn restore_replica(bin: &Path, replica: &Path) -> Env {
    restore_replica_at(bin, replica, None)
}

/// `stampd restore --from-replica` of `replica` as it was at `timestamp` (RFC 3339),
/// or its latest, into a new folder's database.
fn restore_replica_at(bin: &Path, replica: &Path, timestamp: Option<&str>) -> Env {
    let env = Env::new(UNDER_LITESTREAM);
    let replica = replica.to_str().expect("utf-8 path");
    let bin = bin.to_str().expect("utf-8 path");
    let mut args = vec!["restore", "--from-replica", replica, "--litestream", bin];
    if let Some(at) = timestamp {
        args.extend(["--timestamp", at]);
    }
    let out = env.run(&args);
    assert!(
        out.status.success(),
        "restore --from-replica failed: {}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("restored replica"),
        "{}",
        stdout(&out)
    );
    env
}

/// The drill; `quiet`: the load stops and two sync intervals pass before the kill.
/// Returns the acknowledged stamps that the replica lacks.
fn drill(bin: &Path, quiet: bool) -> usize {
    let env = Env::new(UNDER_LITESTREAM);
    let (mut server, client, cards) = shop(&env);
    let replica = env.dir.path().join("replica");
    let mut ls = Litestream::start(bin, env.dir.path(), &env.db, &replica);

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let load = stamp_load(&client, &cards, &stop);
    std::thread::sleep(LOAD_FOR);
    if quiet {
        stop.store(true, Ordering::SeqCst);
    }
    let acked_threads: Vec<Vec<Acked>> = if quiet {
        let acked = load.into_iter().map(|t| t.join().unwrap()).collect();
        std::thread::sleep(2 * SYNC_INTERVAL);
        ls.kill();
        server.kill();
        acked
    } else {
        // The machine dies: both at once, mid-load.
        ls.kill();
        server.kill();
        load.into_iter().map(|t| t.join().unwrap()).collect()
    };
    let killed = Instant::now();
    let acked: Vec<&Acked> = acked_threads.iter().flatten().collect();
    assert!(
        acked.len() >= 20,
        "too few stamps for a drill: {}",
        acked.len()
    );

    // What stampd committed, from its own file: every acknowledged stamp is there.
    let committed = drill_ledger(&env.db);
    for a in &acked {
        assert!(
            committed.iter().any(|(_, n)| *n == a.note),
            "{} was acknowledged but is not in stampd's own file",
            a.note
        );
    }

    let restored_env = restore_replica(bin, &replica);
    let restored = drill_ledger(&restored_env.db);
    assert_eq!(integrity_check(&open_db(&restored_env.db)), "ok");
    // A gap-free prefix of the ledger: the same rows, in the same order, none twice,
    // up to the newest it holds.
    assert!(
        restored.len() <= committed.len() && restored[..] == committed[..restored.len()],
        "the replica's ledger is not a prefix of stampd's: {} rows restored of {}; first \
         difference at {:?}",
        restored.len(),
        committed.len(),
        restored.iter().zip(&committed).position(|(a, b)| a != b)
    );
    for (t, mine) in acked_threads.iter().enumerate() {
        let held = restored
            .iter()
            .filter(|(_, n)| n.starts_with(&format!("drill-t{t}-")))
            .count();
        let expected: Vec<String> = (0..held).map(|n| format!("drill-t{t}-n{n}")).collect();
        let got: Vec<&String> = restored
            .iter()
            .map(|(_, n)| n)
            .filter(|n| n.starts_with(&format!("drill-t{t}-")))
            .collect();
        assert_eq!(
            got,
            expected.iter().collect::<Vec<_>>(),
            "client {t}'s stamps"
        );
        assert!(
            held <= mine.len() + 1,
            "client {t} sent at most one more unanswered"
        );
    }
    let missing: Vec<&&Acked> = acked
        .iter()
        .filter(|a| !restored.iter().any(|(_, n)| *n == a.note))
        .collect();
    let lag_ms = missing
        .iter()
        .map(|a| killed.duration_since(a.at).as_millis())
        .max()
        .unwrap_or(0);
    println!(
        "litestream drill ({}): {} stamps acknowledged in {:.1} s, {} committed, {} in the \
         replica; replication lag: {} acknowledged stamps missing (the oldest acknowledged \
         {lag_ms} ms before the kill); sync interval {} ms",
        if quiet {
            "quiet: load stopped, two sync intervals, kill"
        } else {
            "SIGKILL mid-load"
        },
        acked.len(),
        killed.duration_since(started).as_secs_f64(),
        committed.len(),
        restored.len(),
        missing.len(),
        SYNC_INTERVAL.as_millis()
    );

    // The restored file serves: each card shows what the replica holds, and takes more.
    let mut again = Server::start(&restored_env);
    let client = client.against(&again);
    for (t, &(customer, card)) in cards.iter().enumerate() {
        let held = restored
            .iter()
            .filter(|(_, n)| n.starts_with(&format!("drill-t{t}-")))
            .count() as i64;
        let r = client.get(&client.card_path(customer, card, ""));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["stamps_count"], held, "card of client {t}");
    }
    let (customer, card) = cards[0];
    let r = client.post(
        &client.card_path(customer, card, "/stamp"),
        &json!({"stamps": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    again.stop();
    missing.len()
}

#[test]
fn litestream_drill_sigkill_mid_load_restores_a_gap_free_prefix() {
    let Some(bin) = litestream() else { return };
    drill(&bin, false);
}

#[test]
fn litestream_drill_quiet_replica_holds_every_acknowledged_stamp() {
    let Some(bin) = litestream() else { return };
    let lag = drill(&bin, true);
    assert_eq!(
        lag, 0,
        "two sync intervals after the load stopped, the replica lacks acknowledged stamps"
    );
}

/// A replica made while the database had the first schema: restored and started by
/// this stampd, it migrates and serves its data.
#[test]
fn litestream_replica_of_a_first_schema_database_restores_and_migrates() {
    let Some(bin) = litestream() else { return };
    let env = Env::new(UNDER_LITESTREAM);
    super::migrations::build_v1(&env.db);
    assert_eq!(super::migrations::schema_version(&env.db), 1);
    let replica = env.dir.path().join("replica");
    let mut ls = Litestream::start(&bin, env.dir.path(), &env.db, &replica);
    ls.kill();

    let restored = restore_replica(&bin, &replica);
    assert_eq!(super::migrations::schema_version(&restored.db), 1);
    let mut server = Server::start(&restored);
    let client = Client::new(&server, super::migrations::TOKEN, 7);
    let r = client.get(&client.store_path("/customers/11"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["first_name"], "Zoë");
    assert_eq!(r.body["customer_cards"][0]["stamps_count"], 5);
    server.stop();
    assert_eq!(
        super::migrations::schema_version(&restored.db),
        stampd::db::known_schema_version()
    );
}

/// Stamps `n` times, one after another; each must be acknowledged.
fn stamp(client: &Client, (customer, card): (i64, i64), n: usize) {
    for i in 0..n {
        let r = client.post(
            &client.card_path(customer, card, "/stamp"),
            &json!({"stamps": 1, "note": format!("drill-stop-{i}")}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// With `checkpoint_mode = "external"` a clean stop leaves the WAL to Litestream: it
/// stops at once, and Litestream, still running, replicates everything. (With a
/// TRUNCATE at the stop, stampd waited for Litestream's read transaction to end, which
/// it never does.)
#[test]
fn litestream_clean_stop_in_external_mode_is_prompt_and_loses_nothing() {
    let Some(bin) = litestream() else { return };
    let env = Env::new(UNDER_LITESTREAM);
    let (mut server, client, cards) = shop(&env);
    let replica = env.dir.path().join("replica");
    let mut ls = Litestream::start(&bin, env.dir.path(), &env.db, &replica);
    stamp(&client, cards[0], 50);
    let stopping = Instant::now();
    server.stop();
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(5), "the stop took {took:?}");
    assert!(
        server.log_text().contains("the WAL is left to Litestream"),
        "{}",
        server.log_text()
    );
    std::thread::sleep(2 * SYNC_INTERVAL);
    ls.kill();
    let log = ls.log_text();
    let restored = restore_replica(&bin, &replica);
    assert_eq!(drill_ledger(&restored.db).len(), 50, "litestream: {log}");
    assert!(
        !log.contains("overwritten by another process") && !log.contains("truncated by another"),
        "stampd disturbed Litestream: {log}"
    );
}

/// With stampd checkpointing (the default) and a Litestream running anyway, the
/// TRUNCATE of a clean stop cannot finish: stampd gives up on it after a bounded wait
/// and says why, instead of hanging, and Litestream's replica is whole.
#[test]
fn litestream_clean_stop_in_stampd_mode_gives_up_on_the_truncate() {
    let Some(bin) = litestream() else { return };
    let env = Env::new(&[("latest_backup_interval_secs", "0")]);
    let (mut server, client, cards) = shop(&env);
    let replica = env.dir.path().join("replica");
    let mut ls = Litestream::start(&bin, env.dir.path(), &env.db, &replica);
    stamp(&client, cards[0], 50);
    let stopping = Instant::now();
    server.stop();
    let took = stopping.elapsed();
    let log = server.log_text();
    assert!(
        log.contains("the checkpoint stayed busy"),
        "stopped in {took:?} without the busy checkpoint: {log}"
    );
    std::thread::sleep(2 * SYNC_INTERVAL);
    ls.kill();
    let restored = restore_replica(&bin, &replica);
    assert_eq!(drill_ledger(&restored.db).len(), 50);
    println!(
        "litestream: a clean stop in checkpoint_mode \"stampd\" with Litestream running took \
         {:.1} s (the TRUNCATE gave up)",
        took.as_secs_f64()
    );
}

/// `--timestamp`: the replica restored as it was at a moment between two batches of
/// stamps holds the first batch alone; restored at its latest, both. Either restored
/// file is private to stampd's user, and nothing of the fetch is left beside it.
#[test]
fn litestream_restore_to_a_point_in_time() {
    use std::os::unix::fs::PermissionsExt;
    let Some(bin) = litestream() else { return };
    let env = Env::new(UNDER_LITESTREAM);
    let (mut server, client, cards) = shop(&env);
    let replica = env.dir.path().join("replica");
    let mut ls = Litestream::start(&bin, env.dir.path(), &env.db, &replica);
    stamp(&client, cards[0], 10);
    // Whole seconds: the moment is named to the second, after the first batch's sync.
    std::thread::sleep(3 * SYNC_INTERVAL);
    let between = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    std::thread::sleep(2 * SYNC_INTERVAL);
    stamp(&client, cards[1], 7);
    std::thread::sleep(2 * SYNC_INTERVAL);
    server.stop();
    ls.kill();

    let then = restore_replica_at(&bin, &replica, Some(&between));
    assert_eq!(drill_ledger(&then.db).len(), 10, "as it was at {between}");
    let latest = restore_replica(&bin, &replica);
    assert_eq!(drill_ledger(&latest.db).len(), 17, "at its latest");
    for restored in [&then, &latest] {
        let mode = std::fs::metadata(&restored.db)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "restored file mode {mode:o}");
        let name = restored.db.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            files_starting_with(
                restored.db.parent().unwrap(),
                &format!("{name}.from-replica")
            )
            .len(),
            0,
            "the fetched copy is cleaned up"
        );
    }
}

/// The shipped `dist/litestream.yml` works with this Litestream: with its database path
/// pointed at a test database and its replica at a folder (its other settings as
/// shipped), it replicates what stampd commits, and a restore holds it.
#[test]
fn litestream_dist_config_replicates() {
    let Some(bin) = litestream() else { return };
    let env = Env::new(UNDER_LITESTREAM);
    let (mut server, client, cards) = shop(&env);
    let replica = env.dir.path().join("replica");
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/litestream.yml"))
            .unwrap();
    let (db_line, url_line, addr_line) = (
        "  - path: /var/lib/stampd/stampd.db\n",
        "      url: s3://BUCKET/stampd\n",
        "addr: \"127.0.0.1:9090\"\n",
    );
    for line in [db_line, url_line, addr_line] {
        assert!(shipped.contains(line), "dist/litestream.yml lacks {line:?}");
    }
    let yaml = shipped
        .replace(db_line, &format!("  - path: {}\n", env.db.display()))
        .replace(
            url_line,
            &format!("      type: file\n      path: {}\n", replica.display()),
        )
        // Its own metrics on a free port: the drill may run beside another Litestream.
        .replace(addr_line, "addr: \"127.0.0.1:0\"\n");
    let mut ls = Litestream::start_with(&bin, env.dir.path(), &yaml, &replica);
    stamp(&client, cards[0], 12);
    std::thread::sleep(2 * SYNC_INTERVAL);
    server.stop();
    ls.kill();
    let log = ls.log_text();
    let restored = restore_replica(&bin, &replica);
    assert_eq!(drill_ledger(&restored.db).len(), 12, "litestream: {log}");
}
