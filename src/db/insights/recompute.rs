//! The periodic recompute: figures that count distinct customers over a range (active,
//! returning), that need each visit's local hour, or that depend on the current time
//! (segments, reward liability). One pass over a store's ledger, read on a reader; its
//! results replace the store's `insight_visits`, `insight_customers` and
//! `insight_stores` rows in one write.

use jiff::{tz::TimeZone, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

use crate::time_fmt;

/// Stamps within this many seconds of a visit's first stamp belong to that visit.
pub const VISIT_SECONDS: i64 = 2 * 3600;
/// A customer whose first visit is this recent is new.
pub const NEW_DAYS: i64 = 30;
/// A customer not seen for this long is lapsed.
pub const LAPSED_DAYS: i64 = 90;
/// The usual gap of a customer seen once, to tell when they are at risk.
pub const ONE_VISIT_GAP_DAYS: i64 = 14;
const DAY: i64 = 86_400;

/// One visit: its customer, start (Unix seconds), local day and hour of week.
pub struct Visit {
    pub customer_id: i64,
    pub at: i64,
    pub day: String,
    pub hour_of_week: i64,
}

/// One customer's visits, summed up, and the segment that puts them in.
pub struct CustomerSummary {
    pub customer_id: i64,
    pub visits: i64,
    pub first: i64,
    pub last: i64,
    pub segment: &'static str,
}

/// A store's recomputed figures.
pub struct Computed {
    pub store_id: i64,
    pub last_event_id: i64,
    pub time_zone: String,
    pub visits: Vec<Visit>,
    pub customers: Vec<CustomerSummary>,
    pub rewards_affordable: i64,
    pub stamps_outstanding: i64,
}

/// The segment of a customer seen `visits` times between `first` and `last`, at `now`.
pub fn segment(visits: i64, first: i64, last: i64, now: i64) -> &'static str {
    let usual_gap = if visits >= 2 {
        (last - first) / (visits - 1)
    } else {
        ONE_VISIT_GAP_DAYS * DAY
    };
    let since = now - last;
    if now - first <= NEW_DAYS * DAY {
        "new"
    } else if since > LAPSED_DAYS * DAY {
        "lapsed"
    } else if since > 2 * usual_gap {
        "at_risk"
    } else {
        "regular"
    }
}

/// Reads a store's ledger and cards and computes its figures as of `now`.
pub fn compute(conn: &Connection, store_id: i64, now: Timestamp) -> rusqlite::Result<Computed> {
    let time_zone: String = conn.query_row(
        "SELECT time_zone FROM stores WHERE id = ?1",
        [store_id],
        |r| r.get(0),
    )?;
    let tz = TimeZone::get(&time_zone).unwrap_or(TimeZone::UTC);
    let last_event_id: i64 = conn.query_row(
        "SELECT coalesce(max(id), 0) FROM stamp_events WHERE store_id = ?1",
        [store_id],
        |r| r.get(0),
    )?;
    let mut stamps: Vec<(i64, i64)> = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT cc.customer_id, e.created_at FROM stamp_events e
             JOIN customer_cards cc ON cc.id = e.customer_card_id
             WHERE e.store_id = ?1 AND e.kind = 'stamp' AND e.id <= ?2",
        )?;
        let mut rows = stmt.query(params![store_id, last_event_id])?;
        while let Some(r) = rows.next()? {
            let at: String = r.get(1)?;
            if let Ok(t) = at.parse::<Timestamp>() {
                stamps.push((r.get(0)?, t.as_second()));
            }
        }
    }
    stamps.sort_unstable();
    let now = now.as_second();
    let mut visits = Vec::new();
    let mut customers: Vec<CustomerSummary> = Vec::new();
    for &(customer_id, at) in &stamps {
        let same_visit = visits
            .last()
            .is_some_and(|v: &Visit| v.customer_id == customer_id && at < v.at + VISIT_SECONDS);
        if same_visit {
            continue;
        }
        let z = Timestamp::from_second(at)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(tz.clone());
        visits.push(Visit {
            customer_id,
            at,
            day: z.date().to_string(),
            hour_of_week: super::hour_of_week(&z),
        });
        match customers.last_mut() {
            Some(c) if c.customer_id == customer_id => {
                c.visits += 1;
                c.last = at;
            }
            _ => customers.push(CustomerSummary {
                customer_id,
                visits: 1,
                first: at,
                last: at,
                segment: "new",
            }),
        }
    }
    for c in &mut customers {
        c.segment = segment(c.visits, c.first, c.last, now);
    }
    let (rewards_affordable, stamps_outstanding) = conn.query_row(
        "SELECT coalesce(sum(cc.stamps_count / c.stamps_required), 0),
                coalesce(sum(cc.stamps_count % c.stamps_required), 0)
         FROM customer_cards cc JOIN cards c ON c.id = cc.card_id
         JOIN customers cu ON cu.id = cc.customer_id AND cu.erased_at IS NULL
         WHERE cc.store_id = ?1",
        [store_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Computed {
        store_id,
        last_event_id,
        time_zone,
        visits,
        customers,
        rewards_affordable,
        stamps_outstanding,
    })
}

/// Replaces a store's recomputed rows with `c`.
pub fn save(conn: &Connection, c: &Computed) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM insight_visits WHERE store_id = ?1",
        [c.store_id],
    )?;
    conn.execute(
        "DELETE FROM insight_customers WHERE store_id = ?1",
        [c.store_id],
    )?;
    let mut visit = conn.prepare_cached(
        "INSERT OR IGNORE INTO insight_visits (store_id, day, customer_id, at, hour_of_week)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for v in &c.visits {
        visit.execute(params![
            c.store_id,
            v.day,
            v.customer_id,
            v.at,
            v.hour_of_week
        ])?;
    }
    let mut customer = conn.prepare_cached(
        "INSERT INTO insight_customers (store_id, segment, customer_id, visits, first_visit,
            last_visit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for s in &c.customers {
        customer.execute(params![
            c.store_id,
            s.segment,
            s.customer_id,
            s.visits,
            s.first,
            s.last
        ])?;
    }
    conn.execute(
        "INSERT INTO insight_stores (store_id, computed_at, last_event_id, time_zone,
            rewards_affordable, stamps_outstanding) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (store_id) DO UPDATE SET computed_at = excluded.computed_at,
            last_event_id = excluded.last_event_id, time_zone = excluded.time_zone,
            rewards_affordable = excluded.rewards_affordable,
            stamps_outstanding = excluded.stamps_outstanding",
        params![
            c.store_id,
            time_fmt::now(),
            c.last_event_id,
            c.time_zone,
            c.rewards_affordable,
            c.stamps_outstanding
        ],
    )?;
    Ok(())
}

/// Whether a store was recomputed in its current time zone (a new zone moves every
/// visit's day and hour: those figures are recomputed before they are shown again).
pub fn computed(conn: &Connection, store_id: i64) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM insight_stores i JOIN stores s ON s.id = i.store_id
             WHERE i.store_id = ?1 AND i.time_zone = s.time_zone",
        )?
        .query_row([store_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The stores whose figures are out of date: never computed, the ledger or the time
/// zone moved since, or computed before `older_than` (segments move with the clock).
pub fn stale(conn: &Connection, older_than: &str) -> rusqlite::Result<Vec<i64>> {
    super::super::all(
        conn,
        "SELECT s.id FROM stores s LEFT JOIN insight_stores i ON i.store_id = s.id
         WHERE i.store_id IS NULL OR i.time_zone <> s.time_zone OR i.computed_at < ?1
            OR i.last_event_id <
               (SELECT coalesce(max(e.id), 0) FROM stamp_events e WHERE e.store_id = s.id)
         ORDER BY s.id",
        [older_than],
        |r| r.get(0),
    )
}

/// Recomputes one store: reads on a reader, then replaces its rows on the writer.
/// Blocking: call from inside `web::block`.
pub fn refresh(db: &crate::db::Db, store_id: i64) -> Result<(), crate::error::ApiError> {
    let c = db.read(move |conn| Ok(compute(conn, store_id, Timestamp::now())?))?;
    db.write(move |tx| Ok(save(tx, &c)?))
}

/// Recomputes every stale store (see [`stale`]); returns how many there were.
pub fn refresh_stale(
    db: &crate::db::Db,
    max_age: std::time::Duration,
) -> Result<usize, crate::error::ApiError> {
    let before = time_fmt::format_timestamp(time::OffsetDateTime::now_utc() - max_age);
    let stores = db.read(move |conn| Ok(stale(conn, &before)?))?;
    for &id in &stores {
        refresh(db, id)?;
    }
    Ok(stores.len())
}
