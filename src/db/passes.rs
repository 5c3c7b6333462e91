//! Apple Wallet device registrations, and when each pass last changed.
//!
//! A pass shows the customer card, its template and rewards, the store name and the
//! customer's name, so it changed when any of those rows did: its "modified" time is
//! the latest `updated_at` among them (ISO 8601 timestamps, which sort as strings).
//! The pass web service derives from it the update tag it hands to devices and the
//! pass's `Last-Modified`.
//!
//! Every write stamps `updated_at` inside the single writer's transaction, so changes
//! commit in the order of their times. A reader can still miss a transaction that has
//! taken its time but not yet committed; so a tag or validator never claims a time
//! later than [`SETTLE`] ago, and such a change is still seen as newer than it.

use rusqlite::{params, Connection, OptionalExtension};
use time::{Duration, OffsetDateTime};

use crate::time_fmt;

/// How long a write may take from stamping its time to its commit, at most. Tags and
/// validators stay this far behind the clock.
pub const SETTLE: Duration = Duration::seconds(2);

/// The latest change to anything a pass shows. Needs `cc`, `c`, `s` and `cu` for the
/// customer card, its template, its store and its customer.
const MODIFIED: &str = "max(cc.updated_at, c.updated_at, s.updated_at, cu.updated_at,
    coalesce((SELECT max(r.updated_at) FROM rewards r WHERE r.card_id = c.id), ''))";

const JOINS: &str = "JOIN cards c ON c.id = cc.card_id
    JOIN stores s ON s.id = cc.store_id
    JOIN customers cu ON cu.id = cc.customer_id";

/// What a pass web service request is checked against.
#[derive(Debug, Clone)]
pub struct PassAuth {
    pub customer_card_id: i64,
    pub auth_token: String,
}

/// Devices a pass keeps registered: Wallet registers each device a customer installs
/// the pass on, and no customer has more; beyond it, whoever holds the pass's token is
/// registering for its own sake, and the oldest registration goes.
pub const DEVICES_PER_PASS: i64 = 10;

/// The pass (customer card) with this serial number (uuid). An erased customer's card
/// stays, anonymised, for the ledger, but its pass is gone: it is not found.
pub fn auth_by_serial(conn: &Connection, serial: &str) -> rusqlite::Result<Option<PassAuth>> {
    conn.prepare_cached(
        "SELECT cc.id, cc.pass_auth_token FROM customer_cards cc
         JOIN customers cu ON cu.id = cc.customer_id
         WHERE cc.uuid = ?1 AND cu.erased_at IS NULL",
    )?
    .query_row([serial], |r| {
        Ok(PassAuth {
            customer_card_id: r.get(0)?,
            auth_token: r.get(1)?,
        })
    })
    .optional()
}

/// Registers a device for a pass, or renews its push token. True when the device
/// was not registered for the pass before. A new device beyond [`DEVICES_PER_PASS`]
/// drops the pass's oldest registration.
pub fn register(
    conn: &Connection,
    device_library_id: &str,
    customer_card_id: i64,
    push_token: &str,
) -> rusqlite::Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO pass_registrations (device_library_id, customer_card_id, push_token, created_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device_library_id, customer_card_id) DO NOTHING",
        )?
        .execute(params![
            device_library_id,
            customer_card_id,
            push_token,
            time_fmt::now()
        ])?;
    if added == 0 {
        conn.prepare_cached(
            "UPDATE pass_registrations SET push_token = ?3
             WHERE device_library_id = ?1 AND customer_card_id = ?2 AND push_token IS NOT ?3",
        )?
        .execute(params![device_library_id, customer_card_id, push_token])?;
    } else {
        // The new device is kept whatever the times say (several may share a millisecond).
        conn.prepare_cached(
            "DELETE FROM pass_registrations WHERE customer_card_id = ?1 AND device_library_id IN (
                 SELECT device_library_id FROM pass_registrations
                 WHERE customer_card_id = ?1 AND device_library_id <> ?2
                 ORDER BY created_at DESC, device_library_id DESC
                 LIMIT -1 OFFSET ?3)",
        )?
        .execute(params![
            customer_card_id,
            device_library_id,
            DEVICES_PER_PASS - 1
        ])?;
    }
    Ok(added > 0)
}

/// Forgets a device's registration for a pass. True when there was one.
pub fn unregister(
    conn: &Connection,
    device_library_id: &str,
    customer_card_id: i64,
) -> rusqlite::Result<bool> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM pass_registrations WHERE device_library_id = ?1 AND customer_card_id = ?2",
        )?
        .execute(params![device_library_id, customer_card_id])?;
    Ok(removed > 0)
}

/// Forgets a device's registrations made with `push_token`: APNs said the token no longer
/// takes pushes (a token is the device's for every pass of the pass type). Returns how
/// many went.
pub fn unregister_push_token(
    conn: &Connection,
    device_library_id: &str,
    push_token: &str,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM pass_registrations WHERE device_library_id = ?1 AND push_token = ?2",
    )?
    .execute(params![device_library_id, push_token])
}

/// The passes a device should fetch anew, and the tag to ask with next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    pub serial_numbers: Vec<String>,
    pub last_updated: String,
}

/// The serial numbers of the passes registered on a device that changed after `since`
/// (all of them without `since`), read at `now`; `None` when there are none.
pub fn updated_since(
    conn: &Connection,
    device_library_id: &str,
    since: Option<&str>,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<Updated>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT uuid, modified FROM (
             SELECT cc.uuid AS uuid, {MODIFIED} AS modified
             FROM pass_registrations pr
             JOIN customer_cards cc ON cc.id = pr.customer_card_id
             {JOINS}
             WHERE pr.device_library_id = ?1
         )
         WHERE ?2 IS NULL OR modified > ?2
         ORDER BY modified, uuid"
    ))?;
    let rows = stmt
        .query_map(params![device_library_id, since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let Some(newest) = rows.last().map(|(_, m)| m.clone()) else {
        return Ok(None);
    };
    let settled = time_fmt::format_timestamp(now - SETTLE);
    let last_updated = newest.min(settled);
    Ok(Some(Updated {
        serial_numbers: rows.into_iter().map(|(uuid, _)| uuid).collect(),
        last_updated,
    }))
}

/// When anything the pass of this customer card shows last changed.
pub fn modified_at(conn: &Connection, customer_card_id: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(&format!(
        "SELECT {MODIFIED} FROM customer_cards cc {JOINS} WHERE cc.id = ?1"
    ))?
    .query_row([customer_card_id], |r| r.get(0))
    .optional()
}
