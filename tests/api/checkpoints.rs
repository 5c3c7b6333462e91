//! The WAL is copied into the database file in the background while the server runs,
//! not only when it passes 500 pages, and a clean stop leaves it empty.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::app::spawn_app;

/// Customers in a copy of the database file alone, without its WAL (`None` when the
/// copy caught the file mid-write).
fn customers_in_file_alone(app: &crate::support::app::TestApp, n: usize) -> Option<i64> {
    let copy = app.dir.path().join(format!("copy-{n}.db"));
    std::fs::copy(app.db_path(), &copy).ok()?;
    let conn = rusqlite::Connection::open(&copy).ok()?;
    conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .ok()
}

#[test]
fn committed_writes_reach_the_database_file_in_the_background() {
    let mut app = spawn_app();
    let card = app.create_card(json!({"name": "Coffee", "stamps_required": 10}));
    for i in 0..20 {
        app.create_customer(json!({
            "customer": {"first_name": format!("Ann{i}"), "email": format!("ann{i}@example.com")},
            "card_id": card["id"],
        }));
    }
    // Below the 500 pages at which the writer would checkpoint itself.
    let wal = app.db_path().with_extension("db-wal");
    let size = std::fs::metadata(&wal).unwrap().len();
    assert!(size > 0 && size < 500 * 4096, "WAL of {size} bytes");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tries = 0;
    loop {
        tries += 1;
        if customers_in_file_alone(&app, tries) == Some(20) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the database file alone never held the committed customers"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    app.stop();
    let left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "a clean stop leaves an empty WAL");
}
