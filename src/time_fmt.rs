//! Timestamps as the API shows them: ISO 8601 in UTC, millisecond precision, `Z` suffix.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The current time as stored in the database and shown in JSON.
pub fn now() -> String {
    format_timestamp(OffsetDateTime::now_utc())
}

/// The time `secs` seconds from now (before now when negative), as stored.
pub fn in_seconds(secs: i64) -> String {
    format_timestamp(OffsetDateTime::now_utc() + time::Duration::seconds(secs))
}

/// Whole seconds from now until a stored timestamp (rounded up; 0 once it has passed).
pub fn seconds_until(stored: &str) -> u64 {
    let Some(t) = parse_timestamp(stored) else {
        return 0;
    };
    let ms = (t - OffsetDateTime::now_utc()).whole_milliseconds();
    if ms <= 0 {
        0
    } else {
        ((ms + 999) / 1000) as u64
    }
}

/// The start of today, UTC, as stored (stores have no time zone yet).
pub fn start_of_today() -> String {
    format!("{}T00:00:00.000Z", format_date(today()))
}

pub fn format_timestamp(t: OffsetDateTime) -> String {
    let utc = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    utc.format(TIMESTAMP)
        .unwrap_or_else(|_| "0000-01-01T00:00:00.000Z".to_string())
}

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Parses `YYYY-MM-DD` strictly (a real calendar date).
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    Date::parse(s, DATE).ok()
}

pub fn format_date(d: Date) -> String {
    d.format(DATE).expect("date formatting cannot fail")
}

/// Parses a timestamp given by a client: RFC 3339 (any offset) or a bare date
/// (taken as the end of that day in UTC, so "expires 2026-12-31" includes the 31st).
/// Times outside the years 1900..=9999 are refused (they do not fit the format).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let t = match parse_date(s) {
        Some(d) => d.with_hms_milli(23, 59, 59, 999).ok()?.assume_utc(),
        None => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?,
    };
    let utc = t.checked_to_offset(UtcOffset::UTC)?;
    (1900..=9999).contains(&utc.year()).then_some(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_millis_and_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_764_104_841_123_000_000).unwrap();
        assert_eq!(format_timestamp(t), "2025-11-25T21:07:21.123Z");
    }

    #[test]
    fn dates_must_be_real() {
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2023-02-29").is_none());
        assert!(parse_date("2023-2-9").is_none());
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn timestamps_accept_offsets_and_dates() {
        let t = parse_timestamp("2026-01-01T10:00:00+02:00").unwrap();
        assert_eq!(format_timestamp(t), "2026-01-01T08:00:00.000Z");
        let d = parse_timestamp("2026-12-31").unwrap();
        assert_eq!(format_timestamp(d), "2026-12-31T23:59:59.999Z");
        assert!(parse_timestamp("31/12/2026").is_none());
        assert!(parse_timestamp("+999999-01-01T00:00:00Z").is_none());
        assert!(parse_timestamp("9999-12-31T23:59:59-23:59").is_none());
        assert!(parse_timestamp("1899-12-31").is_none());
    }
}
