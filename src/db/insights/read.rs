//! The insights routes' reads: additive figures summed from `insight_days`, the rest
//! from the recompute's tables. None of them reads the ledger.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{Map, Value};

/// How a series is bucketed, each bucket named by its first local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

impl Interval {
    pub const NAMES: &'static [&'static str] = &["day", "week", "month"];

    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "day" => Some(Interval::Day),
            "week" => Some(Interval::Week),
            "month" => Some(Interval::Month),
            _ => None,
        }
    }

    /// The SQL of a bucket's first day from a `day` column (weeks start on Monday).
    fn bucket(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "date(day, '-' || ((strftime('%w', day) + 6) % 7) || ' days')",
            Interval::Month => "substr(day, 1, 7) || '-01'",
        }
    }
}

const ADDITIVE: &[&str] = &[
    "stamps",
    "corrections",
    "redemptions",
    "stamps_redeemed",
    "rewards_unlocked",
    "new_customers",
];

/// The additive figures per bucket (`period` → figures), summed over card templates.
fn additive(
    conn: &Connection,
    store_id: i64,
    from: &str,
    to: &str,
    group: &str,
) -> rusqlite::Result<Vec<(Value, Map<String, Value>)>> {
    let sums: Vec<String> = ADDITIVE.iter().map(|c| format!("sum({c})")).collect();
    let sql = format!(
        "SELECT {group}, {} FROM insight_days WHERE store_id = ?1 AND day BETWEEN ?2 AND ?3
         GROUP BY 1 ORDER BY 1",
        sums.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![store_id, from, to], |r| {
        let key: rusqlite::types::Value = r.get(0)?;
        let key = match key {
            rusqlite::types::Value::Integer(i) => Value::from(i),
            rusqlite::types::Value::Text(t) => Value::from(t),
            _ => Value::Null,
        };
        let mut m = Map::new();
        for (i, name) in ADDITIVE.iter().enumerate() {
            m.insert((*name).into(), Value::from(r.get::<_, i64>(i + 1)?));
        }
        Ok((key, m))
    })?;
    rows.collect()
}

/// Visits, active customers (one visit or more) and returning customers (two or more)
/// per bucket of the recomputed visits.
fn visitors(
    conn: &Connection,
    store_id: i64,
    from: &str,
    to: &str,
    group: &str,
) -> rusqlite::Result<Vec<(String, Map<String, Value>)>> {
    let sql = format!(
        "SELECT b, sum(n), count(*), sum(n >= 2),
                avg(CASE WHEN n >= 2 THEN (last - first) / 86400.0 / (n - 1) END)
         FROM (SELECT {group} AS b, customer_id, count(*) AS n, min(at) AS first,
                      max(at) AS last
               FROM insight_visits WHERE store_id = ?1 AND day BETWEEN ?2 AND ?3
               GROUP BY b, customer_id)
         GROUP BY b ORDER BY b"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![store_id, from, to], |r| {
        let active: i64 = r.get(2)?;
        let returning: i64 = r.get(3)?;
        let mut m = Map::new();
        m.insert("visits".into(), Value::from(r.get::<_, i64>(1)?));
        m.insert("active_customers".into(), Value::from(active));
        m.insert("returning_customers".into(), Value::from(returning));
        m.insert("returning_share".into(), share(returning, active));
        m.insert(
            "average_days_between_visits".into(),
            r.get::<_, Option<f64>>(4)?
                .map(|d| Value::from((d * 100.0).round() / 100.0))
                .unwrap_or(Value::Null),
        );
        Ok((r.get(0)?, m))
    })?;
    rows.collect()
}

fn share(part: i64, whole: i64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        Value::from((part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
    }
}

fn empty_visitors() -> Map<String, Value> {
    let mut m = Map::new();
    for k in ["visits", "active_customers", "returning_customers"] {
        m.insert(k.into(), Value::from(0));
    }
    m.insert("returning_share".into(), Value::Null);
    m.insert("average_days_between_visits".into(), Value::Null);
    m
}

fn empty_additive() -> Map<String, Value> {
    ADDITIVE
        .iter()
        .map(|k| ((*k).into(), Value::from(0)))
        .collect()
}

/// The reward liability and when it was computed.
#[derive(Debug, Serialize)]
pub struct Liability {
    pub rewards_affordable: i64,
    pub stamps_outstanding: i64,
    pub computed_at: String,
}

/// Everything `GET /insights` answers for a store, `from` to `to` (local days, both
/// included).
pub fn insights(
    conn: &Connection,
    store_id: i64,
    from: &str,
    to: &str,
    interval: Interval,
) -> rusqlite::Result<Value> {
    let (computed_at, time_zone, rewards_affordable, stamps_outstanding): (
        String,
        String,
        i64,
        i64,
    ) = conn.query_row(
        "SELECT computed_at, time_zone, rewards_affordable, stamps_outstanding
         FROM insight_stores WHERE store_id = ?1",
        [store_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut series: std::collections::BTreeMap<String, Map<String, Value>> = Default::default();
    for (period, figures) in additive(conn, store_id, from, to, interval.bucket())? {
        let key = period.as_str().unwrap_or_default().to_string();
        let entry = series.entry(key).or_insert_with(empty_visitors);
        entry.extend(figures);
    }
    for (period, figures) in visitors(conn, store_id, from, to, interval.bucket())? {
        let entry = series.entry(period).or_insert_with(empty_additive);
        entry.extend(figures);
    }
    let series: Vec<Value> = series
        .into_iter()
        .map(|(period, mut m)| {
            for (k, v) in empty_additive().into_iter().chain(empty_visitors()) {
                m.entry(k).or_insert(v);
            }
            let mut out = Map::new();
            out.insert("period".into(), Value::from(period));
            out.extend(m);
            Value::Object(out)
        })
        .collect();
    let mut totals = empty_additive();
    if let Some((_, m)) = additive(conn, store_id, from, to, "'all'")?.pop() {
        totals.extend(m);
    }
    totals.extend(
        visitors(conn, store_id, from, to, "'all'")?
            .pop()
            .map(|v| v.1)
            .unwrap_or_else(empty_visitors),
    );
    let mut hours = vec![0i64; 168];
    {
        let mut stmt = conn.prepare_cached(
            "SELECT hour_of_week, count(*) FROM insight_visits
             WHERE store_id = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY hour_of_week",
        )?;
        let mut rows = stmt.query(params![store_id, from, to])?;
        while let Some(r) = rows.next()? {
            let h: i64 = r.get(0)?;
            if let Some(slot) = hours.get_mut(h as usize) {
                *slot = r.get(1)?;
            }
        }
    }
    let by_card = {
        let sums: Vec<String> = ADDITIVE.iter().map(|c| format!("sum(d.{c})")).collect();
        let sql = format!(
            "SELECT d.card_id, c.name, {} FROM insight_days d JOIN cards c ON c.id = d.card_id
             WHERE d.store_id = ?1 AND d.day BETWEEN ?2 AND ?3 GROUP BY d.card_id
             ORDER BY d.card_id",
            sums.join(", ")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![store_id, from, to], |r| {
            let mut m = Map::new();
            m.insert("card_id".into(), Value::from(r.get::<_, i64>(0)?));
            m.insert("card_name".into(), Value::from(r.get::<_, String>(1)?));
            for (i, name) in ADDITIVE.iter().enumerate() {
                m.insert((*name).into(), Value::from(r.get::<_, i64>(i + 2)?));
            }
            Ok(Value::Object(m))
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok(serde_json::json!({
        "time_zone": time_zone,
        "from": from,
        "to": to,
        "interval": Interval::NAMES[interval as usize],
        "computed_at": computed_at,
        "totals": totals,
        "series": series,
        "visits_by_hour_of_week": hours,
        "liability": Liability { rewards_affordable, stamps_outstanding, computed_at: computed_at.clone() },
        "by_card": by_card,
    }))
}

/// The number of customers in each segment.
pub fn segment_counts(conn: &Connection, store_id: i64) -> rusqlite::Result<Map<String, Value>> {
    let mut counts: Map<String, Value> = SEGMENTS
        .iter()
        .map(|s| ((*s).into(), Value::from(0)))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT segment, count(*) FROM insight_customers WHERE store_id = ?1 GROUP BY segment",
    )?;
    let mut rows = stmt.query([store_id])?;
    while let Some(r) = rows.next()? {
        counts.insert(r.get(0)?, Value::from(r.get::<_, i64>(1)?));
    }
    Ok(counts)
}

pub const SEGMENTS: &[&str] = &["new", "regular", "at_risk", "lapsed"];

/// One page of a segment's customer ids, newest customer first, with visit figures.
pub fn segment_page(
    conn: &Connection,
    store_id: i64,
    segment: &str,
    page: i64,
    items: i64,
) -> rusqlite::Result<Vec<(i64, i64, i64, i64)>> {
    let offset = (page - 1).saturating_mul(items);
    super::super::all(
        conn,
        "SELECT customer_id, visits, first_visit, last_visit FROM insight_customers
         WHERE store_id = ?1 AND segment = ?2 ORDER BY customer_id DESC LIMIT ?3 OFFSET ?4",
        params![store_id, segment, items, offset],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}

/// Every customer id of a segment, as last recomputed.
pub fn segment_ids(conn: &Connection, store_id: i64, segment: &str) -> rusqlite::Result<Vec<i64>> {
    super::super::all(
        conn,
        "SELECT customer_id FROM insight_customers WHERE store_id = ?1 AND segment = ?2
         ORDER BY customer_id DESC",
        params![store_id, segment],
        |r| r.get(0),
    )
}
