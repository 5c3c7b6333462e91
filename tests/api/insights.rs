//! The owner's insights: rollups kept exact with the ledger, and every figure of the
//! insights routes checked against a computation of its own over a generated ledger.

mod figures;
mod rollups;
mod segment_actions;

use std::collections::BTreeMap;

use crate::support::app::TestApp;

/// The additive figures of one (local day, card) as this test computes them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub stamps: i64,
    pub corrections: i64,
    pub redemptions: i64,
    pub stamps_redeemed: i64,
    pub rewards_unlocked: i64,
    pub new_customers: i64,
}

/// The local date of a stored UTC timestamp in `zone`.
pub fn local_day(zone: &str, at: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    at.parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned_datetime(tz)
        .date()
        .to_string()
}

/// The rollups recomputed from the ledger and the cards, straight from the tables.
pub fn from_ledger(app: &TestApp, zone: &str) -> BTreeMap<(String, i64), Day> {
    let conn = app.conn();
    let mut days: BTreeMap<(String, i64), Day> = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT e.created_at, cc.card_id, e.kind, e.stamps, e.balance_after, c.stamps_required
             FROM stamp_events e JOIN customer_cards cc ON cc.id = e.customer_card_id
             JOIN cards c ON c.id = cc.card_id WHERE e.store_id = ?1 ORDER BY e.id",
        )
        .unwrap();
    let rows = stmt
        .query_map([app.store_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (at, card, kind, stamps, after, required) = row.unwrap();
        let d = days.entry((local_day(zone, &at), card)).or_default();
        if kind == "redemption" {
            d.redemptions += 1;
            d.stamps_redeemed -= stamps;
        } else if stamps > 0 {
            d.stamps += stamps;
            // Each multiple of `required` reached on the way from before to after.
            d.rewards_unlocked += (after - stamps + 1..=after)
                .filter(|b| b % required == 0)
                .count() as i64;
        } else {
            d.corrections -= stamps;
        }
    }
    let mut stmt = conn
        .prepare("SELECT customer_id, card_id, issued_at FROM customer_cards WHERE store_id = ?1 ORDER BY id")
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    let rows = stmt
        .query_map([app.store_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (customer, card, at) = row.unwrap();
        if seen.insert(customer) {
            days.entry((local_day(zone, &at), card))
                .or_default()
                .new_customers += 1;
        }
    }
    days
}

/// The rollups as stampd keeps them.
pub fn rollups(app: &TestApp) -> BTreeMap<(String, i64), Day> {
    let conn = app.conn();
    let mut stmt = conn
        .prepare(
            "SELECT day, card_id, stamps, corrections, redemptions, stamps_redeemed,
                    rewards_unlocked, new_customers FROM insight_days WHERE store_id = ?1",
        )
        .unwrap();
    let rows = stmt
        .query_map([app.store_id], |r| {
            Ok((
                (r.get(0)?, r.get(1)?),
                Day {
                    stamps: r.get(2)?,
                    corrections: r.get(3)?,
                    redemptions: r.get(4)?,
                    stamps_redeemed: r.get(5)?,
                    rewards_unlocked: r.get(6)?,
                    new_customers: r.get(7)?,
                },
            ))
        })
        .unwrap();
    rows.map(|r| r.unwrap())
        .filter(|(_, d): &(_, Day)| *d != Day::default())
        .collect()
}
