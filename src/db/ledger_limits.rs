//! The rules a stamp is judged by against the ledger: which visit of the customer it
//! belongs to, the card template's stamp limits, and which correction a staff member
//! may make (their own last stamp).
//!
//! A visit is the stamps one customer receives within two hours of the first of them,
//! on any of their cards (API.md section 1). Each stamp row keeps the start of its
//! visit, so the current visit is one look-up of the customer's last stamp.

use rusqlite::{params, Connection};

use super::cards::StampLimits;
use crate::time_fmt;

/// How long a visit lasts from its first stamp.
pub const VISIT_SECS: i64 = 2 * 3600;

/// The visit a stamp given now belongs to.
#[derive(Debug, Clone)]
pub struct Visit {
    pub started_at: String,
    /// The stamp would start it.
    pub new: bool,
}

pub fn current_visit(conn: &Connection, customer_id: i64) -> rusqlite::Result<Visit> {
    let last: Option<String> = super::one(
        conn,
        "SELECT coalesce(e.visit_started_at, e.created_at)
         FROM stamp_events e JOIN customer_cards cc ON cc.id = e.customer_card_id
         WHERE cc.customer_id = ?1 AND e.kind = 'stamp' ORDER BY e.id DESC LIMIT 1",
        [customer_id],
        |r| r.get(0),
    )?;
    let open_since = time_fmt::in_seconds(-VISIT_SECS);
    Ok(match last {
        Some(start) if start > open_since => Visit {
            started_at: start,
            new: false,
        },
        _ => Visit {
            started_at: time_fmt::now(),
            new: true,
        },
    })
}

/// A limit a stamp would go past.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The limit's field name on the card template.
    pub limit: &'static str,
    pub message: String,
}

/// The first of the card's limits that `stamps` more on the card would go past.
/// Corrections count against what was given: a stamp taken back frees its place.
pub fn check(
    conn: &Connection,
    limits: &StampLimits,
    customer_card_id: i64,
    stamps: i64,
    visit: &Visit,
) -> rusqlite::Result<Option<Refusal>> {
    let given_since = |since: &str| -> rusqlite::Result<i64> {
        conn.prepare_cached(
            "SELECT coalesce(sum(stamps), 0) FROM stamp_events
             WHERE customer_card_id = ?1 AND kind IN ('stamp', 'adjustment') AND created_at >= ?2",
        )?
        .query_row(params![customer_card_id, since], |r| r.get(0))
    };
    if let Some(max) = limits.max_stamps_per_visit {
        let given = if visit.new {
            0
        } else {
            given_since(&visit.started_at)?
        };
        if given + stamps > max {
            return Ok(Some(Refusal {
                limit: "max_stamps_per_visit",
                message: format!(
                    "allows {max} stamps per visit; this visit has {given} and {stamps} more were asked"
                ),
            }));
        }
    }
    if let (Some(min), true) = (limits.min_minutes_between_visits, visit.new) {
        let last: Option<String> = super::one(
            conn,
            "SELECT max(created_at) FROM stamp_events WHERE customer_card_id = ?1 AND kind = 'stamp'",
            [customer_card_id],
            |r| r.get::<_, Option<String>>(0),
        )?
        .flatten();
        if let Some(last) = last.filter(|t| *t > time_fmt::in_seconds(-min * 60)) {
            let wait = time_fmt::seconds_until(&time_fmt::format_timestamp(
                time_fmt::parse_timestamp(&last).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
                    + time::Duration::minutes(min),
            ));
            return Ok(Some(Refusal {
                limit: "min_minutes_between_visits",
                message: format!(
                    "needs {min} minutes between visits; the next visit may be stamped in {} minutes",
                    wait.div_ceil(60)
                ),
            }));
        }
    }
    if let Some(max) = limits.max_stamps_per_day {
        let given = given_since(&time_fmt::start_of_today())?;
        if given + stamps > max {
            return Ok(Some(Refusal {
                limit: "max_stamps_per_day",
                message: format!(
                    "allows {max} stamps per day; today has {given} and {stamps} more were asked"
                ),
            }));
        }
    }
    Ok(None)
}

/// Whether `staff_id` may take `stamps` back from the card: only from their own last
/// stamp, when it is the card's last ledger row and holds that many.
pub fn own_last_stamp(
    conn: &Connection,
    customer_card_id: i64,
    staff_id: i64,
    stamps: i64,
) -> rusqlite::Result<bool> {
    let last: Option<(String, i64, Option<i64>)> = super::one(
        conn,
        "SELECT kind, stamps, staff_id FROM stamp_events WHERE customer_card_id = ?1
         ORDER BY id DESC LIMIT 1",
        [customer_card_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(matches!(last, Some((kind, given, by))
        if kind == "stamp" && by == Some(staff_id) && -stamps <= given))
}
