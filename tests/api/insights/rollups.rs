//! Rollups under concurrent stamps, corrections, redemptions and enrolments equal a
//! recomputation from the ledger, and follow the store's time zone when it changes.

use std::sync::Barrier;

use serde_json::json;

use super::{from_ledger, rollups};
use crate::support::app::*;

#[test]
fn insights_rollups_stay_exact_under_concurrent_stamps_corrections_and_redemptions() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"time_zone": "Pacific/Kiritimati"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["time_zone"], "Pacific/Kiritimati");
    let coffee =
        app.create_card(json!({"name": "Coffee", "stamps_required": 3, "initial_stamps": 1}));
    let tea = app.create_card(json!({"name": "Tea", "stamps_required": 4}));
    let coffee_id = coffee["id"].as_i64().unwrap();
    let tea_id = tea["id"].as_i64().unwrap();
    let reward = app.create_reward(coffee_id, "Free coffee", 3)["id"]
        .as_i64()
        .unwrap();
    let shared = app.enrol("Ann", "Lee", "ann@example.com", coffee_id);
    let customer = shared["id"].as_i64().unwrap();
    let cc = shared["customer_card"]["id"].as_i64().unwrap();
    let base = format!("/customers/{customer}/customer_cards/{cc}");

    const CLIENTS: usize = 12;
    let barrier = Barrier::new(CLIENTS);
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let (app, barrier, base) = (&app, &barrier, &base);
            s.spawn(move || {
                barrier.wait();
                for i in 0..8 {
                    match (c + i) % 4 {
                        0 | 1 => {
                            let n = (c % 3) as i64 + 1;
                            app.post(
                                &app.store_path(&format!("{base}/stamp")),
                                &json!({"stamps": n}),
                            );
                        }
                        2 => {
                            // A correction; refused (422) when it would go below zero.
                            app.post(
                                &app.store_path(&format!("{base}/stamp")),
                                &json!({"stamps": -1}),
                            );
                        }
                        _ => {
                            app.post(
                                &app.store_path(&format!("{base}/redeem")),
                                &json!({"reward_id": reward}),
                            );
                        }
                    }
                }
                // New customers, some on each card, while the others stamp.
                let card = if c % 2 == 0 { coffee_id } else { tea_id };
                app.enrol(
                    "New",
                    &format!("Customer{c}"),
                    &format!("new{c}@example.com"),
                    card,
                );
            });
        }
    });
    // An import writes its ledger rows in bulk, past `ledger::append`: counted too.
    app.write_tx(|tx| {
        let fields: Vec<_> = (0..30)
            .map(|i| stampd::db::customers::CustomerFields {
                first_name: format!("Imported{i}"),
                last_name: None,
                email: Some(stampd::domain::Email::from_stored(format!(
                    "imp{i}@example.com"
                ))),
                phone: None,
                birthday: None,
                metadata: Default::default(),
            })
            .collect();
        let ids = stampd::db::customers::insert_many(tx, app.store_id, &fields).unwrap();
        let template = stampd::db::cards::find(tx, app.store_id, tea_id)
            .unwrap()
            .unwrap();
        let imports: Vec<_> = ids
            .iter()
            .map(|&customer_id| stampd::db::customer_cards::CardImport {
                customer_id,
                visits: vec![3, 2, -1],
            })
            .collect();
        stampd::db::customer_cards::import_cards(tx, app.store_id, &template, &imports).unwrap();
    });
    let kept = rollups(&app);
    let expected = from_ledger(&app, "Pacific/Kiritimati");
    assert!(expected
        .values()
        .any(|d| d.redemptions > 0 && d.corrections > 0));
    assert!(expected.values().map(|d| d.new_customers).sum::<i64>() == CLIENTS as i64 + 31);
    assert_eq!(kept, expected);

    // Another time zone moves the days: the rollups are recounted with it.
    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"time_zone": "Pacific/Pago_Pago"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(rollups(&app), from_ledger(&app, "Pacific/Pago_Pago"));
    assert_ne!(
        rollups(&app).keys().next(),
        kept.keys().next(),
        "25 hours apart, days differ"
    );

    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"time_zone": "Mars/Olympus"}}),
    );
    assert_eq!(r.status, 422);
    assert!(r.body["errors"]["time_zone"].is_array(), "{}", r.text);
}
