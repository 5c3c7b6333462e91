//! The owner's insights: the daily rollups kept with the ledger (`rollup`), the
//! periodic recompute of what depends on distinct customers or on the current time
//! (`recompute`), and the reads the insights routes answer from (`read`).

pub mod read;
pub mod recompute;
pub mod rollup;

use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension};

/// A store's time zone, UTC when the store is unknown or its zone no longer exists.
pub fn zone(conn: &Connection, store_id: i64) -> rusqlite::Result<TimeZone> {
    let name: Option<String> = conn
        .prepare_cached("SELECT time_zone FROM stores WHERE id = ?1")?
        .query_row([store_id], |r| r.get(0))
        .optional()?;
    Ok(name
        .and_then(|n| TimeZone::get(&n).ok())
        .unwrap_or(TimeZone::UTC))
}

/// A stored timestamp (`2026-11-25T21:07:21.123Z`) as the shop's clock shows it.
pub fn local(tz: &TimeZone, at: &str) -> Option<jiff::ZonedDateTime> {
    at.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.to_zoned_datetime(tz.clone()))
}

/// The hour of the week of a local time: 0 is Monday 00:00–00:59, 167 Sunday 23:00.
pub fn hour_of_week(z: &jiff::ZonedDateTime) -> i64 {
    i64::from(z.weekday().to_monday_zero_offset()) * 24 + i64::from(z.hour())
}
