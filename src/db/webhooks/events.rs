//! Webhook events, recorded in the transaction of the change that caused them.
//!
//! The storage functions every change passes through (`customers::insert`,
//! `customer_cards::apply`, ...) [`note`] what changed; when the write job they ran in
//! has done all its work, `Db::write` calls [`record`] in the same savepoint: each
//! change becomes its events, their `data` read as the job leaves things (a customer
//! created with references and a card shows them), and each event a row of the outbox
//! for every enabled subscription of the store that receives it. A job that fails
//! leaves nothing: its notes are dropped with its savepoint ([`discard`]). Nothing is
//! read when the store has no subscription.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::{receives, CHANNEL};
use crate::db::customers::{self, Customer};
use crate::db::ledger;
use crate::db::outbox::{self, NewMessage};
use crate::time_fmt;

/// A change that fires events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    CustomerCreated {
        customer_id: i64,
    },
    /// The customer's own fields (names, contact, birthday, metadata, references).
    CustomerUpdated {
        customer_id: i64,
    },
    CardCreated {
        customer_card_id: i64,
    },
    /// A ledger row: stamps given or taken, a welcome bonus, a redemption.
    Ledger {
        customer_card_id: i64,
        ledger_event_id: i64,
        stamps: i64,
        balance_after: i64,
        redemption: bool,
    },
}

thread_local! {
    static NOTED: RefCell<Vec<Change>> = const { RefCell::new(Vec::new()) };
}

/// Notes a change of the current write job.
pub fn note(change: Change) {
    NOTED.with(|n| n.borrow_mut().push(change));
}

/// Forgets the current job's changes (it failed, or a new one starts).
pub fn discard() {
    NOTED.with(|n| n.borrow_mut().clear());
}

fn take() -> Vec<Change> {
    NOTED.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// What the writer needs to record events: the base of the links in their `data`, and
/// whom to tell when rows were queued.
#[derive(Default)]
pub struct Hooks {
    pub public_url: OnceLock<String>,
    pub on_queued: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

pub type SharedHooks = Arc<Hooks>;

/// One event about to be queued.
struct Event {
    kind: &'static str,
    customer_id: i64,
    customer_card_id: Option<i64>,
    data: Value,
}

/// Turns the current job's changes into outbox rows; returns how many were queued.
pub fn record(conn: &Connection, base_url: &str) -> rusqlite::Result<usize> {
    let changes = take();
    if changes.is_empty() {
        return Ok(0);
    }
    let mut subscriptions: HashMap<i64, Vec<(i64, Vec<String>)>> = HashMap::new();
    let mut customers: HashMap<i64, Option<Customer>> = HashMap::new();
    let mut queued = 0;
    let created: Vec<i64> = changes
        .iter()
        .filter_map(|c| match c {
            Change::CustomerCreated { customer_id } => Some(*customer_id),
            _ => None,
        })
        .collect();
    let mut updated_done: Vec<i64> = Vec::new();
    for change in changes {
        let (customer_id, card_id) = match change {
            Change::CustomerCreated { customer_id } => (customer_id, None),
            Change::CustomerUpdated { customer_id } => {
                // One update per job, and none beside the customer's creation.
                if created.contains(&customer_id) || updated_done.contains(&customer_id) {
                    continue;
                }
                updated_done.push(customer_id);
                (customer_id, None)
            }
            Change::CardCreated { customer_card_id }
            | Change::Ledger {
                customer_card_id, ..
            } => match card_owner(conn, customer_card_id)? {
                Some(customer_id) => (customer_id, Some(customer_card_id)),
                None => continue,
            },
        };
        let Some(store_id) = store_of(conn, customer_id)? else {
            continue;
        };
        if let Entry::Vacant(e) = subscriptions.entry(store_id) {
            e.insert(enabled_subscriptions(conn, store_id)?);
        }
        let subs = &subscriptions[&store_id];
        if subs.is_empty() {
            continue;
        }
        if let Entry::Vacant(e) = customers.entry(customer_id) {
            e.insert(customers::load(conn, &[customer_id], base_url)?.pop());
        }
        let Some(customer) = customers[&customer_id].as_ref() else {
            continue;
        };
        for event in events_of(conn, change, customer, card_id)? {
            if !subs.iter().any(|(_, ev)| receives(ev, event.kind)) {
                continue;
            }
            let payload = json!({
                "id": new_event_id(),
                "type": event.kind,
                "timestamp": time_fmt::now(),
                "data": event.data,
            });
            for (sub_id, events) in subs {
                if receives(events, event.kind) {
                    queue(conn, store_id, *sub_id, &event, &payload)?;
                    queued += 1;
                }
            }
        }
    }
    Ok(queued)
}

/// Queues one event for one subscription.
fn queue(
    conn: &Connection,
    store_id: i64,
    subscription_id: i64,
    event: &Event,
    payload: &Value,
) -> rusqlite::Result<i64> {
    outbox::enqueue(
        conn,
        &NewMessage {
            channel: CHANNEL,
            store_id,
            customer_id: Some(event.customer_id),
            customer_card_id: event.customer_card_id,
            address: &subscription_id.to_string(),
            payload: Some(payload),
            key: None,
        },
    )
}

/// An event's id: `evt_` and 128 random bits (hex); the `webhook-id` of every try.
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

fn card_owner(conn: &Connection, customer_card_id: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT customer_id FROM customer_cards WHERE id = ?1")?
        .query_row([customer_card_id], |r| r.get(0))
        .optional()
}

fn store_of(conn: &Connection, customer_id: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT store_id FROM customers WHERE id = ?1 AND erased_at IS NULL")?
        .query_row([customer_id], |r| r.get(0))
        .optional()
}

/// The enabled subscriptions of a store and the events each receives.
fn enabled_subscriptions(
    conn: &Connection,
    store_id: i64,
) -> rusqlite::Result<Vec<(i64, Vec<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, events FROM webhook_subscriptions WHERE store_id = ?1 AND enabled ORDER BY id",
    )?;
    let rows = stmt.query_map([store_id], |r| {
        let events: String = r.get(1)?;
        Ok((r.get(0)?, serde_json::from_str(&events).unwrap_or_default()))
    })?;
    rows.collect()
}

/// The events one change fires, in the order a receiver should see them.
fn events_of(
    conn: &Connection,
    change: Change,
    customer: &Customer,
    card_id: Option<i64>,
) -> rusqlite::Result<Vec<Event>> {
    let customer_json = serde_json::to_value(customer).expect("a customer serialises");
    let card = card_id.and_then(|id| customer.customer_cards.iter().find(|c| c.id == id));
    let card_json = card.map(|c| serde_json::to_value(c).expect("a card serialises"));
    let event = |kind, data| Event {
        kind,
        customer_id: customer.id,
        customer_card_id: card_id,
        data,
    };
    Ok(match change {
        Change::CustomerCreated { .. } => {
            vec![event(
                "customer.created",
                json!({"customer": customer_json}),
            )]
        }
        Change::CustomerUpdated { .. } => {
            vec![event(
                "customer.updated",
                json!({"customer": customer_json}),
            )]
        }
        Change::CardCreated { .. } => vec![event(
            "customer_card.created",
            json!({"customer": customer_json, "customer_card": card_json}),
        )],
        Change::Ledger {
            ledger_event_id,
            stamps,
            balance_after,
            redemption,
            ..
        } => {
            let Some(entry) = ledger::find(conn, ledger_event_id)? else {
                return Ok(Vec::new());
            };
            if redemption {
                let reward = match entry.reward_id {
                    Some(id) => reward_json(conn, id)?,
                    None => Value::Null,
                };
                let redemption = json!({
                    "id": entry.id,
                    "reward_id": entry.reward_id,
                    "reward_name": entry.reward_name,
                    "stamps_spent": -stamps,
                    "stamps_remaining": balance_after,
                    "redeemed_at": entry.created_at,
                });
                return Ok(vec![event(
                    "reward.redeemed",
                    json!({"customer": customer_json, "customer_card": card_json,
                        "reward": reward, "redemption": redemption}),
                )]);
            }
            let kind = if stamps > 0 {
                "stamp.earned"
            } else {
                "stamp.removed"
            };
            let mut out = vec![event(
                kind,
                json!({"customer": customer_json, "customer_card": card_json,
                    "stamps": stamps, "ledger_event": entry}),
            )];
            if stamps > 0 {
                let before = balance_after - stamps;
                for reward in unlocked(conn, card_id, before, balance_after)? {
                    out.push(event(
                        "reward.unlocked",
                        json!({"customer": customer_json, "customer_card": card_json,
                            "reward": reward}),
                    ));
                }
            }
            out
        }
    })
}

/// The active rewards of the card's template that `after` stamps pay for and `before`
/// did not.
fn unlocked(
    conn: &Connection,
    customer_card_id: Option<i64>,
    before: i64,
    after: i64,
) -> rusqlite::Result<Vec<Value>> {
    let Some(id) = customer_card_id else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT r.id FROM rewards r JOIN customer_cards cc ON cc.card_id = r.card_id
         WHERE cc.id = ?1 AND r.active AND r.stamps_required > ?2 AND r.stamps_required <= ?3
         ORDER BY r.stamps_required, r.position, r.id",
    )?;
    let ids = stmt
        .query_map(params![id, before, after], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.into_iter().map(|id| reward_json(conn, id)).collect()
}

fn reward_json(conn: &Connection, id: i64) -> rusqlite::Result<Value> {
    let reward = conn
        .prepare_cached(&format!(
            "SELECT {} FROM rewards WHERE id = ?1",
            crate::db::rewards::COLUMNS
        ))?
        .query_row([id], crate::db::rewards::from_row)
        .optional()?;
    Ok(reward
        .map(|r| serde_json::to_value(r).expect("a reward serialises"))
        .unwrap_or(Value::Null))
}
