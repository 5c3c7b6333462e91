//! Customer cards: a customer's enrolment in a card template, with its stamp balance.

use std::collections::HashMap;

use super::{row, Columns};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::cards::{Card, StampLimits};
use super::insights;
use super::ledger::{self, Kind};
use super::rewards::{self, Reward};
use super::webhooks::events::{note, Change};
use crate::domain::links::CardLinks;
use crate::domain::CardCode;
use crate::time_fmt;

#[derive(Debug, Clone, Serialize)]
pub struct CustomerCard {
    pub id: i64,
    pub account_id: i64,
    pub customer_id: i64,
    pub card_id: i64,
    pub card_name: String,
    pub status: &'static str,
    pub stamps_count: i64,
    pub stamps_required: i64,
    pub stamps_remaining: i64,
    pub progress_percentage: f64,
    pub code: String,
    pub uuid: String,
    pub pass_installed: bool,
    pub apple_wallet_url: String,
    pub google_wallet_url: String,
    pub issued_at: String,
    pub available_rewards: Vec<Reward>,
    pub created_at: String,
    pub updated_at: String,
}

const SELECT: &str = "SELECT c.stamps_required, c.archived_at, c.expires_at, cc.stamps_count,
    cc.uuid, cc.id, cc.store_id, cc.customer_id, cc.card_id, c.name, cc.code,
    cc.pass_installed, cc.issued_at, cc.created_at, cc.updated_at
    FROM customer_cards cc JOIN cards c ON c.id = cc.card_id";

/// Builds the JSON of customer cards from rows, adding wallet URLs and rewards.
struct Loader<'a> {
    base_url: &'a str,
    now: String,
}

impl Loader<'_> {
    fn card(&self, r: &Row) -> rusqlite::Result<CustomerCard> {
        let mut c = Columns::of(r);
        let required: i64 = c.read()?;
        let archived_at: Option<String> = c.read()?;
        let expires_at: Option<String> = c.read()?;
        let count: i64 = c.read()?;
        let uuid: String = c.read()?;
        let closed = archived_at.is_some() || expires_at.is_some_and(|e| e <= self.now);
        let status = if closed {
            "archived"
        } else if count >= required {
            "completed"
        } else {
            "active"
        };
        let progress = if required > 0 {
            ((count.min(required) as f64) * 10000.0 / required as f64).round() / 100.0
        } else {
            0.0
        };
        let links = CardLinks::new(self.base_url, &uuid);
        Ok(CustomerCard {
            id: c.read()?,
            account_id: c.read()?,
            customer_id: c.read()?,
            card_id: c.read()?,
            card_name: c.read()?,
            status,
            stamps_count: count,
            stamps_required: required,
            stamps_remaining: (required - count).max(0),
            progress_percentage: progress,
            code: c.read()?,
            apple_wallet_url: links.apple_pass(),
            google_wallet_url: links.google_pass(),
            uuid,
            pass_installed: c.read()?,
            issued_at: c.read()?,
            available_rewards: Vec::new(),
            created_at: c.read()?,
            updated_at: c.read()?,
        })
    }
}

fn attach_rewards(conn: &Connection, cards: &mut [CustomerCard]) -> rusqlite::Result<()> {
    let mut card_ids: Vec<i64> = cards.iter().map(|c| c.card_id).collect();
    card_ids.sort_unstable();
    card_ids.dedup();
    let rewards = rewards::active_for_cards(conn, &card_ids)?;
    for cc in cards.iter_mut() {
        cc.available_rewards = rewards
            .iter()
            .filter(|r| r.card_id == cc.card_id && r.stamps_required <= cc.stamps_count)
            .cloned()
            .collect();
    }
    Ok(())
}

/// Every card of the given customers, grouped by customer, oldest enrolment first.
pub fn for_customers(
    conn: &Connection,
    customer_ids: &[i64],
    base_url: &str,
) -> rusqlite::Result<HashMap<i64, Vec<CustomerCard>>> {
    let loader = Loader {
        base_url,
        now: time_fmt::now(),
    };
    let mut cards = if let [id] = customer_ids {
        conn.prepare_cached(&format!(
            "{SELECT} WHERE cc.customer_id = ?1 ORDER BY cc.id"
        ))?
        .query_map([id], |r| loader.card(r))?
        .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        let ids = serde_json::to_string(customer_ids).expect("ids serialise");
        conn.prepare_cached(&format!(
            "{SELECT} WHERE cc.customer_id IN (SELECT value FROM json_each(?1)) ORDER BY cc.id"
        ))?
        .query_map([ids], |r| loader.card(r))?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    attach_rewards(conn, &mut cards)?;
    let mut by_customer: HashMap<i64, Vec<CustomerCard>> = HashMap::new();
    for c in cards {
        by_customer.entry(c.customer_id).or_default().push(c);
    }
    Ok(by_customer)
}

pub fn find(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    id: i64,
    base_url: &str,
) -> rusqlite::Result<Option<CustomerCard>> {
    let loader = Loader {
        base_url,
        now: time_fmt::now(),
    };
    let card = conn
        .prepare_cached(&format!(
            "{SELECT} WHERE cc.id = ?1 AND cc.customer_id = ?2 AND cc.store_id = ?3"
        ))?
        .query_row(params![id, customer_id, store_id], |r| loader.card(r))
        .optional()?;
    match card {
        Some(c) => {
            let mut one = [c];
            attach_rewards(conn, &mut one)?;
            let [c] = one;
            Ok(Some(c))
        }
        None => Ok(None),
    }
}

/// Whether the customer holds a card of this template already (one each at most).
pub fn holds(conn: &Connection, customer_id: i64, card_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM customer_cards WHERE customer_id = ?1 AND card_id = ?2)",
    )?
    .query_row(params![customer_id, card_id], |r| r.get(0))
}

/// Enrols a customer in a card template: a new card with a fresh code and uuid, and
/// the template's initial stamps credited as a welcome bonus in the ledger.
pub fn enrol(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    card: &Card,
    who: &ledger::Who,
) -> rusqlite::Result<i64> {
    let code = loop {
        let c = CardCode::generate();
        if !code_taken(conn, store_id, c.as_str())? {
            break c;
        }
    };
    let now = time_fmt::now();
    let initial = card.design.initial_stamps;
    conn.prepare_cached(
        "INSERT INTO customer_cards (store_id, customer_id, card_id, code, uuid, stamps_count,
            pass_auth_token, issued_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?8, ?7, ?7, ?7)",
    )?
    .execute(params![
        store_id,
        customer_id,
        card.id,
        code.as_str(),
        uuid::Uuid::new_v4().to_string(),
        initial,
        now,
        pass_auth_token()
    ])?;
    let id = conn.last_insert_rowid();
    if first_card(conn, customer_id)? {
        insights::rollup::new_customer(conn, store_id, card.id, &now)?;
    }
    note(Change::CardCreated {
        customer_card_id: id,
    });
    if initial > 0 {
        let ledger_event_id = ledger::append(
            conn,
            &ledger::Entry {
                store_id,
                customer_card_id: id,
                kind: Kind::WelcomeBonus,
                stamps: initial,
                balance_after: initial,
                reward: None,
                note: None,
                who,
                visit_started_at: None,
                skip_notifications: false,
            },
        )?;
        note(Change::Ledger {
            customer_card_id: id,
            ledger_event_id,
            stamps: initial,
            balance_after: initial,
            redemption: false,
        });
    }
    Ok(id)
}

/// One customer's card in an import: the stamps of each past visit, oldest first.
pub struct CardImport {
    pub customer_id: i64,
    pub visits: Vec<i64>,
}

/// Enrols many customers in a card template at once (an import), in statements of many
/// rows: each card gets a fresh code and uuid, the template's welcome bonus and a ledger
/// row per visit, and a balance that is their sum. Returns the card ids in the order
/// given.
pub fn import_cards(
    conn: &Connection,
    store_id: i64,
    card: &Card,
    imports: &[CardImport],
) -> rusqlite::Result<Vec<i64>> {
    import_cards_with(conn, store_id, card, imports, CardCode::generate)
}

/// [`import_cards`] with the codes drawn from `next_code`.
fn import_cards_with(
    conn: &Connection,
    store_id: i64,
    card: &Card,
    imports: &[CardImport],
    mut next_code: impl FnMut() -> CardCode,
) -> rusqlite::Result<Vec<i64>> {
    const CARDS_PER_STATEMENT: usize = 500;
    const EVENTS_PER_STATEMENT: usize = 1000;
    let now = time_fmt::now();
    let initial = card.design.initial_stamps;
    let mut ids = Vec::with_capacity(imports.len());
    for chunk in imports.chunks(CARDS_PER_STATEMENT) {
        // A code drawn at random clashes with another card's very rarely (a few times
        // in a million-card import), so a statement first goes in without looking its
        // codes up, and only one that clashed is redone with every code checked.
        let chunk_ids =
            match insert_card_rows(conn, store_id, card, chunk, &now, &mut next_code, false) {
                Err(e) if is_code_clash(&e) => {
                    insert_card_rows(conn, store_id, card, chunk, &now, &mut next_code, true)?
                }
                result => result?,
            };
        let mut events = Vec::new();
        for (import, &id) in chunk.iter().zip(&chunk_ids) {
            let mut balance = 0;
            let welcome = (initial > 0).then_some((Kind::WelcomeBonus, initial));
            let visits = import.visits.iter().map(|&v| {
                let kind = if v > 0 { Kind::Stamp } else { Kind::Adjustment };
                (kind, v)
            });
            for (kind, stamps) in welcome.into_iter().chain(visits) {
                balance += stamps;
                events.push((id, kind, stamps, balance));
            }
        }
        count_import(conn, store_id, card, &chunk_ids, &events, &now)?;
        for part in events.chunks(EVENTS_PER_STATEMENT) {
            let mut values = Vec::with_capacity(part.len() * 6);
            for &(id, kind, stamps, balance) in part {
                values.extend([
                    store_id.into(),
                    id.into(),
                    super::text(kind.as_str()),
                    stamps.into(),
                    balance.into(),
                    super::text(&now),
                ]);
            }
            super::insert_rows(
                conn,
                "stamp_events (store_id, customer_card_id, kind, stamps, balance_after,
                    created_at)",
                6,
                &values,
            )?;
        }
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// Adds an import statement's cards and ledger rows to the rollups: the cards were
/// inserted together, so their ids span `ids`'s range and nothing else.
fn count_import(
    conn: &Connection,
    store_id: i64,
    card: &Card,
    ids: &[i64],
    events: &[(i64, Kind, i64, i64)],
    now: &str,
) -> rusqlite::Result<()> {
    let (Some(low), Some(high)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(());
    };
    let new_customers: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM customer_cards cc WHERE cc.id BETWEEN ?1 AND ?2
             AND NOT EXISTS (SELECT 1 FROM customer_cards o
                             WHERE o.customer_id = cc.customer_id AND o.id < cc.id)",
        )?
        .query_row([low, high], |r| r.get(0))?;
    let required = card.design.stamps_required;
    let figures = events
        .iter()
        .map(|&(_, kind, stamps, balance)| {
            insights::rollup::Figures::of_entry(kind, stamps, balance, required)
        })
        .chain([insights::rollup::Figures {
            new_customers,
            ..Default::default()
        }]);
    insights::rollup::many(conn, store_id, card.id, now, figures)
}

/// Whether a customer's only card is the one just issued.
fn first_card(conn: &Connection, customer_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT count(*) = 1 FROM customer_cards WHERE customer_id = ?1")?
        .query_row([customer_id], |r| r.get(0))
}

/// One statement of an import's cards, each with a fresh code (looked up first when
/// `check_codes`), uuid and balance. A failed statement leaves nothing behind.
fn insert_card_rows(
    conn: &Connection,
    store_id: i64,
    card: &Card,
    chunk: &[CardImport],
    now: &str,
    next_code: &mut impl FnMut() -> CardCode,
    check_codes: bool,
) -> rusqlite::Result<Vec<i64>> {
    let mut codes = std::collections::HashSet::with_capacity(chunk.len());
    let mut texts = Vec::with_capacity(chunk.len());
    for _ in chunk {
        let code = loop {
            let c = next_code();
            let taken = codes.contains(c.as_str())
                || (check_codes && code_taken(conn, store_id, c.as_str())?);
            if !taken {
                break c;
            }
        };
        codes.insert(code.as_str().to_string());
        let uuid = uuid::Uuid::new_v4().to_string();
        texts.push((code, uuid, pass_auth_token()));
    }
    let mut values = Vec::with_capacity(chunk.len() * 10);
    for (import, (code, uuid, token)) in chunk.iter().zip(&texts) {
        let balance = card.design.initial_stamps + import.visits.iter().sum::<i64>();
        values.extend([
            store_id.into(),
            import.customer_id.into(),
            card.id.into(),
            super::text(code.as_str()),
            super::text(uuid),
            balance.into(),
            super::text(token),
            super::text(now),
            super::text(now),
            super::text(now),
        ]);
    }
    super::insert_rows(
        conn,
        "customer_cards (store_id, customer_id, card_id, code, uuid, stamps_count,
            pass_auth_token, issued_at, created_at, updated_at)",
        10,
        &values,
    )
}

/// Whether an insert failed on the unique index of card codes.
fn is_code_clash(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, Some(message))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                && message.contains("customer_cards.code")
    )
}

fn code_taken(conn: &Connection, store_id: i64, code: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM customer_cards WHERE store_id = ?1 AND code = ?2)",
    )?
    .query_row(params![store_id, code], |r| r.get(0))
}

/// The facts a stamp or a redemption is checked against, read inside its transaction.
pub struct Balance {
    pub stamps_count: i64,
    pub card_id: i64,
    pub card_archived: bool,
    pub card_expired: bool,
    pub limits: super::cards::StampLimits,
}

pub fn balance(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    id: i64,
) -> rusqlite::Result<Option<Balance>> {
    let now = time_fmt::now();
    conn.prepare_cached(
        "SELECT cc.stamps_count, cc.card_id, c.archived_at IS NOT NULL,
                coalesce(c.expires_at <= ?4, 0), c.max_stamps_per_visit,
                c.min_minutes_between_visits, c.max_stamps_per_day
         FROM customer_cards cc JOIN cards c ON c.id = cc.card_id
         JOIN customers cu ON cu.id = cc.customer_id AND cu.erased_at IS NULL
         WHERE cc.id = ?1 AND cc.customer_id = ?2 AND cc.store_id = ?3",
    )?
    .query_row(params![id, customer_id, store_id, now], |r| {
        let mut c = Columns::of(r);
        Ok(row!(c => Balance {
            stamps_count, card_id, card_archived, card_expired,
            limits: StampLimits {
                max_stamps_per_visit, min_minutes_between_visits, max_stamps_per_day,
            },
        }))
    })
    .optional()
}

/// Moves the entry's card to its new balance, records the ledger row and queues the
/// pass's updates, in the caller's transaction. The caller has checked the new balance
/// is not negative.
pub fn apply(conn: &Connection, entry: ledger::Entry) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "UPDATE customer_cards SET stamps_count = ?2, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![
        entry.customer_card_id,
        entry.balance_after,
        time_fmt::now()
    ])?;
    super::pass_updates::stamps_changed(
        conn,
        entry.customer_card_id,
        entry.balance_after - entry.stamps,
        entry.balance_after,
        entry.skip_notifications,
    )?;
    let ledger_event_id = ledger::append(conn, &entry)?;
    note(Change::Ledger {
        customer_card_id: entry.customer_card_id,
        ledger_event_id,
        stamps: entry.stamps,
        balance_after: entry.balance_after,
        redemption: entry.kind == Kind::Redemption,
    });
    Ok(ledger_event_id)
}

/// The secret a Wallet device presents for one pass (128 random bits, hex).
pub(super) fn pass_auth_token() -> String {
    use rand::RngCore;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .flat_map(|b| {
            [
                HEX[usize::from(b >> 4)] as char,
                HEX[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}

/// Everything a public view of one card shows (web card page, wallet passes), found by
/// the card's uuid. It holds only what the card's holder may see.
#[derive(Debug, Clone)]
pub struct CardView {
    pub customer_card_id: i64,
    pub store_id: i64,
    pub store_name: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub card: Card,
    pub stamps_count: i64,
    pub code: String,
    pub uuid: String,
    pub pass_auth_token: String,
    pub updated_at: String,
    /// The card's active rewards, cheapest first.
    pub rewards: Vec<Reward>,
    /// The store's locations.
    pub locations: Vec<super::locations::Location>,
}

impl CardView {
    /// Rewards the current stamps pay for.
    pub fn available_rewards(&self) -> impl Iterator<Item = &Reward> {
        self.rewards
            .iter()
            .filter(|r| r.stamps_required <= self.stamps_count)
    }
}

pub fn view_by_uuid(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<CardView>> {
    let row = conn
        .prepare_cached(
            "SELECT cc.id, cc.store_id, coalesce(s.store_name, s.name), cu.first_name, cu.last_name,
                    cc.card_id, cc.stamps_count, cc.code, cc.uuid, cc.pass_auth_token,
                    cc.updated_at
             FROM customer_cards cc
             JOIN stores s ON s.id = cc.store_id
             JOIN customers cu ON cu.id = cc.customer_id
             WHERE cc.uuid = ?1 AND cu.erased_at IS NULL",
        )?
        .query_row([uuid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, String>(10)?,
            ))
        })
        .optional()?;
    let Some((
        id,
        store_id,
        store_name,
        first_name,
        last_name,
        card_id,
        stamps_count,
        code,
        uuid,
        token,
        updated_at,
    )) = row
    else {
        return Ok(None);
    };
    let Some(card) = super::cards::find(conn, store_id, card_id)? else {
        return Ok(None);
    };
    let rewards = rewards::active_for_cards(conn, &[card_id])?;
    let locations = super::locations::list(conn, store_id)?;
    Ok(Some(CardView {
        customer_card_id: id,
        store_id,
        store_name,
        first_name,
        last_name,
        card,
        stamps_count,
        code,
        uuid,
        pass_auth_token: token,
        updated_at,
        rewards,
        locations,
    }))
}

/// The ids of a customer's cards, oldest first.
pub fn ids_of_customer(conn: &Connection, customer_id: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM customer_cards WHERE customer_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([customer_id], |r| r.get(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests;
