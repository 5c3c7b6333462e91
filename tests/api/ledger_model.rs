//! Property test: random sequences of stamps, corrections and redemptions, sent to a
//! real stampd and to an in-memory model of the rules; after every step the status
//! code, the balance, the card's rewards and the ledger must agree with the model.
//!
//! One server for all cases; each case uses a fresh customer card.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::stamps::{card, enrol, reward, Enrolled, REDEEM_FAILED};
use crate::support::app::*;

const CARD_REQUIRED: i64 = 10;
const WELCOME: i64 = 1;

#[derive(Debug, Clone)]
enum Op {
    /// `stamps: n`, n > 0.
    Stamp(i64),
    /// `stamps: -n`, n > 0.
    Correct(i64),
    /// Redeem the reward at this index of `Setup::rewards`.
    Redeem(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1i64..=6).prop_map(Op::Stamp),
        2 => (1i64..=5).prop_map(Op::Correct),
        3 => (0usize..5).prop_map(Op::Redeem),
    ]
}

/// A reward the model knows: id, stamps required, active, of this card.
#[derive(Debug, Clone, Copy)]
struct ModelReward {
    id: i64,
    required: i64,
    active: bool,
    ours: bool,
}

/// One ledger row as the model expects it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    kind: &'static str,
    stamps: i64,
    balance_after: i64,
    reward_id: Option<i64>,
}

struct Model {
    balance: i64,
    ledger: Vec<Row>,
}

impl Model {
    fn push(&mut self, kind: &'static str, stamps: i64, reward_id: Option<i64>) {
        self.balance += stamps;
        self.ledger.push(Row {
            kind,
            stamps,
            balance_after: self.balance,
            reward_id,
        });
    }

    fn available(&self, rewards: &[ModelReward]) -> Vec<i64> {
        let mut ids: Vec<i64> = rewards
            .iter()
            .filter(|r| r.ours && r.active && r.required <= self.balance)
            .map(|r| r.id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

fn row_of(e: &Value) -> Row {
    Row {
        kind: match e["kind"].as_str() {
            Some("welcome_bonus") => "welcome_bonus",
            Some("stamp") => "stamp",
            Some("adjustment") => "adjustment",
            Some("redemption") => "redemption",
            other => panic!("unknown kind {other:?} in {e}"),
        },
        stamps: e["stamps"].as_i64().unwrap_or(i64::MIN),
        balance_after: e["balance_after"].as_i64().unwrap_or(i64::MIN),
        reward_id: e["reward_id"].as_i64(),
    }
}

fn ids(v: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = v
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// Checks the card as the API shows it against the model.
fn check_card(
    card: &Value,
    model: &Model,
    rewards: &[ModelReward],
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        &card["stamps_count"],
        &json!(model.balance),
        "{}: {}",
        what,
        card
    );
    prop_assert_eq!(
        &card["stamps_remaining"],
        &json!((CARD_REQUIRED - model.balance).max(0)),
        "{}",
        what
    );
    let status = if model.balance >= CARD_REQUIRED {
        "completed"
    } else {
        "active"
    };
    prop_assert_eq!(&card["status"], &json!(status), "{}", what);
    prop_assert_eq!(
        ids(&card["available_rewards"]),
        model.available(rewards),
        "{}: available_rewards",
        what
    );
    Ok(())
}

/// Runs one step against the server and the model.
fn step(
    app: &TestApp,
    cc: &Enrolled,
    model: &mut Model,
    rewards: &[ModelReward],
    op: &Op,
) -> Result<(), TestCaseError> {
    let what = format!("{op:?} at balance {}", model.balance);
    match *op {
        Op::Stamp(n) => {
            let r = cc.stamp(app, n);
            prop_assert_eq!(r.status, 200, "{}: {}", what, r.text);
            model.push("stamp", n, None);
            check_card(&r.body, model, rewards, &what)?;
        }
        Op::Correct(n) => {
            let r = cc.stamp(app, -n);
            if model.balance >= n {
                prop_assert_eq!(r.status, 200, "{}: {}", what, r.text);
                model.push("adjustment", -n, None);
                check_card(&r.body, model, rewards, &what)?;
            } else {
                prop_assert_eq!(r.status, 422, "{}: {}", what, r.text);
                prop_assert!(
                    r.body["errors"]["stamps"].is_array(),
                    "{}: {}",
                    what,
                    r.text
                );
            }
        }
        Op::Redeem(i) => {
            let rw = rewards[i];
            let r = cc.redeem(app, rw.id);
            if !rw.ours {
                prop_assert_eq!(r.status, 404, "{}: {}", what, r.text);
                prop_assert_eq!(&r.body["error"], &json!("Reward not found"), "{}", what);
            } else if !rw.active || model.balance < rw.required {
                prop_assert_eq!(r.status, 422, "{}: {}", what, r.text);
                prop_assert_eq!(&r.body["error"], &json!(REDEEM_FAILED), "{}", what);
            } else {
                prop_assert_eq!(r.status, 200, "{}: {}", what, r.text);
                model.push("redemption", -rw.required, Some(rw.id));
                let red = &r.body["redemption"];
                prop_assert_eq!(&r.body["success"], &json!(true), "{}", what);
                prop_assert_eq!(&red["reward_id"], &json!(rw.id), "{}", what);
                prop_assert_eq!(&red["stamps_spent"], &json!(rw.required), "{}", what);
                prop_assert_eq!(&red["stamps_remaining"], &json!(model.balance), "{}", what);
            }
        }
    }

    // The card as stored, and the newest ledger row.
    check_card(&cc.show(app), model, rewards, &format!("{what}, then GET"))?;
    let page = cc.events_page(app, "?items=1");
    prop_assert_eq!(
        &page["pagination"]["count"],
        &json!(model.ledger.len()),
        "{}: ledger length",
        what
    );
    let newest = row_of(&page["events"][0]);
    prop_assert_eq!(Some(&newest), model.ledger.last(), "{}: newest row", what);
    Ok(())
}

/// The whole ledger, from the API and the database, against the model.
fn check_ledger(app: &TestApp, cc: &Enrolled, model: &Model) -> Result<(), TestCaseError> {
    let (events, count) = cc.all_events(app);
    prop_assert_eq!(count as usize, model.ledger.len());
    let mut api: Vec<Row> = events.iter().map(row_of).collect();
    api.reverse();
    prop_assert_eq!(&api, &model.ledger, "the events, oldest first");
    let sum: i64 = api.iter().map(|r| r.stamps).sum();
    prop_assert_eq!(sum, model.balance, "sum of deltas");

    let db: Vec<(String, i64, i64)> = cc.ledger_rows(app);
    let expected: Vec<(String, i64, i64)> = model
        .ledger
        .iter()
        .map(|r| (r.kind.to_string(), r.stamps, r.balance_after))
        .collect();
    prop_assert_eq!(db, expected, "stamp_events rows");
    prop_assert_eq!(cc.db_count(app), model.balance);

    let c = app.get(&app.store_path(&format!("/customers/{}", cc.customer_id)));
    prop_assert_eq!(
        &c.body["stamp_count"],
        &json!(model.balance),
        "customer stamp_count"
    );
    Ok(())
}

#[test]
fn random_stamps_corrections_and_redemptions_follow_the_model() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let card_id = card(&app, CARD_REQUIRED, json!({"initial_stamps": WELCOME}));
    let other_card = card(&app, CARD_REQUIRED, json!({}));
    let retired = reward(&app, card_id, "Retired", 2);
    let r = app.patch(
        &app.store_path(&format!("/rewards/{retired}")),
        &json!({"reward": {"active": false}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let rewards = [
        ModelReward {
            id: reward(&app, card_id, "Small", 3),
            required: 3,
            active: true,
            ours: true,
        },
        ModelReward {
            id: reward(&app, card_id, "Medium", 7),
            required: 7,
            active: true,
            ours: true,
        },
        ModelReward {
            id: reward(&app, card_id, "Full", CARD_REQUIRED),
            required: CARD_REQUIRED,
            active: true,
            ours: true,
        },
        ModelReward {
            id: retired,
            required: 2,
            active: false,
            ours: true,
        },
        ModelReward {
            id: reward(&app, other_card, "Other card's", 1),
            required: 1,
            active: true,
            ours: false,
        },
    ];

    let mut runner = TestRunner::new(Config {
        cases: 20,
        max_shrink_iters: 100,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..=30), |ops| {
        let cc = enrol(&app, card_id);
        let mut model = Model {
            balance: 0,
            ledger: Vec::new(),
        };
        model.push("welcome_bonus", WELCOME, None);
        check_card(&cc.show(&app), &model, &rewards, "after enrolment")?;
        for op in &ops {
            step(&app, &cc, &mut model, &rewards, op)?;
        }
        check_ledger(&app, &cc, &model)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
