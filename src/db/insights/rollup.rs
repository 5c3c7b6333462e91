//! The daily rollups (`insight_days`): additive figures per store, card template and
//! local day, added to in the transaction of the ledger row they count, so a commit
//! never holds one without the other.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use rusqlite::{params, Connection};

use crate::db::ledger::{Entry, Kind};

/// What one or more ledger rows add to a day's figures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub stamps: i64,
    pub corrections: i64,
    pub redemptions: i64,
    pub stamps_redeemed: i64,
    pub rewards_unlocked: i64,
    pub new_customers: i64,
}

impl Figures {
    /// One ledger row's share: `required` is the card template's stamps per reward.
    pub fn of_entry(kind: Kind, stamps: i64, balance_after: i64, required: i64) -> Figures {
        let required = required.max(1);
        let mut f = Figures::default();
        // A balance brought over from another system was given there, not here.
        if kind == Kind::Import {
            return f;
        }
        if kind == Kind::Redemption {
            f.redemptions = 1;
            f.stamps_redeemed = -stamps;
        } else if stamps > 0 {
            f.stamps = stamps;
            f.rewards_unlocked = balance_after / required - (balance_after - stamps) / required;
        } else {
            f.corrections = -stamps;
        }
        f
    }

    fn add(&mut self, o: Figures) {
        self.stamps += o.stamps;
        self.corrections += o.corrections;
        self.redemptions += o.redemptions;
        self.stamps_redeemed += o.stamps_redeemed;
        self.rewards_unlocked += o.rewards_unlocked;
        self.new_customers += o.new_customers;
    }
}

/// Adds one ledger row, written at `at`, to its day.
pub fn entry(conn: &Connection, e: &Entry, at: &str) -> rusqlite::Result<()> {
    let (card_id, required): (i64, i64) = conn
        .prepare_cached(
            "SELECT cc.card_id, c.stamps_required FROM customer_cards cc
             JOIN cards c ON c.id = cc.card_id WHERE cc.id = ?1",
        )?
        .query_row([e.customer_card_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let tz = super::zone(conn, e.store_id)?;
    let f = Figures::of_entry(e.kind, e.stamps, e.balance_after, required);
    add(conn, e.store_id, &day(&tz, at), card_id, f)
}

/// Counts a new customer on the day their first card (of `card_id`) was issued.
pub fn new_customer(
    conn: &Connection,
    store_id: i64,
    card_id: i64,
    at: &str,
) -> rusqlite::Result<()> {
    let tz = super::zone(conn, store_id)?;
    let f = Figures {
        new_customers: 1,
        ..Figures::default()
    };
    add(conn, store_id, &day(&tz, at), card_id, f)
}

/// Adds many rows of one card template written at the same moment (an import).
pub fn many(
    conn: &Connection,
    store_id: i64,
    card_id: i64,
    at: &str,
    figures: impl IntoIterator<Item = Figures>,
) -> rusqlite::Result<()> {
    let mut sum = Figures::default();
    figures.into_iter().for_each(|f| sum.add(f));
    if sum == Figures::default() {
        return Ok(());
    }
    let tz = super::zone(conn, store_id)?;
    add(conn, store_id, &day(&tz, at), card_id, sum)
}

/// Recounts a store's rollups from its ledger and cards, as its time zone says now
/// (after the zone changed: the days themselves move).
pub fn rebuild(conn: &Connection, store_id: i64) -> rusqlite::Result<()> {
    let tz = super::zone(conn, store_id)?;
    let mut days: HashMap<(String, i64), Figures> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT e.created_at, cc.card_id, e.kind, e.stamps, e.balance_after,
                    c.stamps_required
             FROM stamp_events e JOIN customer_cards cc ON cc.id = e.customer_card_id
             JOIN cards c ON c.id = cc.card_id WHERE e.store_id = ?1",
        )?;
        let mut rows = stmt.query([store_id])?;
        while let Some(r) = rows.next()? {
            let at: String = r.get(0)?;
            let kind: String = r.get(2)?;
            let kind = match kind.as_str() {
                "redemption" => Kind::Redemption,
                "import" => Kind::Import,
                _ => Kind::Stamp,
            };
            let f = Figures::of_entry(kind, r.get(3)?, r.get(4)?, r.get(5)?);
            days.entry((day(&tz, &at), r.get(1)?)).or_default().add(f);
        }
        let mut stmt = conn.prepare(
            "SELECT cc.issued_at, cc.card_id FROM customer_cards cc
             WHERE cc.store_id = ?1 AND cc.id =
                (SELECT min(f.id) FROM customer_cards f WHERE f.customer_id = cc.customer_id)",
        )?;
        let mut rows = stmt.query([store_id])?;
        while let Some(r) = rows.next()? {
            let at: String = r.get(0)?;
            days.entry((day(&tz, &at), r.get(1)?))
                .or_default()
                .new_customers += 1;
        }
    }
    conn.execute("DELETE FROM insight_days WHERE store_id = ?1", [store_id])?;
    for ((d, card_id), f) in days {
        add(conn, store_id, &d, card_id, f)?;
    }
    Ok(())
}

fn day(tz: &TimeZone, at: &str) -> String {
    super::local(tz, at)
        .map(|z| z.date().to_string())
        .unwrap_or_else(|| at.chars().take(10).collect())
}

fn add(
    conn: &Connection,
    store_id: i64,
    day: &str,
    card_id: i64,
    f: Figures,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO insight_days (store_id, day, card_id, stamps, corrections, redemptions,
            stamps_redeemed, rewards_unlocked, new_customers)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (store_id, day, card_id) DO UPDATE SET
            stamps = stamps + excluded.stamps,
            corrections = corrections + excluded.corrections,
            redemptions = redemptions + excluded.redemptions,
            stamps_redeemed = stamps_redeemed + excluded.stamps_redeemed,
            rewards_unlocked = rewards_unlocked + excluded.rewards_unlocked,
            new_customers = new_customers + excluded.new_customers",
    )?
    .execute(params![
        store_id,
        day,
        card_id,
        f.stamps,
        f.corrections,
        f.redemptions,
        f.stamps_redeemed,
        f.rewards_unlocked,
        f.new_customers
    ])?;
    Ok(())
}
