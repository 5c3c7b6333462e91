//! Webhook subscriptions: where a store's events go, which ones, in which shape and
//! signed with which secret; whether they are enabled and how their last delivery went.
//! The events themselves are outbox rows (`events` queues them in the transaction of
//! the change, `deliveries` is what the sender reads and records).

pub mod deliveries;
pub mod events;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::Columns;
use crate::time_fmt;

/// The outbox channel of webhook events.
pub const CHANNEL: &str = "webhook";

/// The events a subscription may ask for, in the order the contract lists them.
pub const EVENTS: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer_card.created",
    "stamp.earned",
    "stamp.removed",
    "reward.unlocked",
    "reward.redeemed",
];
/// Every event.
pub const ALL: &str = "*";
/// The event `POST .../test` sends.
pub const TEST_EVENT: &str = "webhook.test";

/// Why a subscription is disabled.
pub const DISABLED_BY_USER: &str = "disabled_by_user";
pub const FAILING: &str = "failing";
pub const BLOCKED_ADDRESS: &str = "blocked_address";
pub const DISABLED_REASONS: &[&str] = &[DISABLED_BY_USER, FAILING, BLOCKED_ADDRESS];

/// The payload formats.
pub const FORMATS: &[&str] = &["envelope", "flat"];

/// A subscription as the API shows it. `secret` is shown only where the contract says
/// (create, show, rotate_secret): the list leaves it `None`, and it is then left out.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub account_id: i64,
    pub target_url: String,
    pub events: Vec<String>,
    pub event: Option<String>,
    pub payload_format: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_at: Option<String>,
    pub disabled_reason: Option<String>,
    pub last_delivery_at: Option<String>,
    pub last_delivery_status: Option<i64>,
    pub last_delivery_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Subscription {
    /// Whether the subscription receives `event`.
    pub fn receives(&self, event: &str) -> bool {
        receives(&self.events, event)
    }
}

/// Whether a subscription to `events` receives `event`.
pub fn receives(events: &[String], event: &str) -> bool {
    events.iter().any(|e| e == ALL || e == event)
}

/// What a client sets on a subscription, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionFields {
    pub target_url: String,
    pub events: Vec<String>,
    pub payload_format: String,
    pub description: Option<String>,
    pub enabled: bool,
}

const COLUMNS: &str = "id, store_id, target_url, events, payload_format, description, enabled,
    disabled_at, disabled_reason, last_delivery_at, last_delivery_status, last_delivery_error,
    created_at, updated_at, secret";

fn from_row(r: &Row) -> rusqlite::Result<Subscription> {
    let mut c = Columns::of(r);
    let id = c.read()?;
    let account_id = c.read()?;
    let target_url = c.read()?;
    let events: String = c.read()?;
    let events: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
    Ok(Subscription {
        id,
        account_id,
        target_url,
        // `*` is every event, not one.
        event: match events.as_slice() {
            [one] if one != ALL => Some(one.clone()),
            _ => None,
        },
        events,
        payload_format: c.read()?,
        description: c.read()?,
        enabled: c.read()?,
        disabled_at: c.read()?,
        disabled_reason: c.read()?,
        last_delivery_at: c.read()?,
        last_delivery_status: c.read()?,
        last_delivery_error: c.read()?,
        created_at: c.read()?,
        updated_at: c.read()?,
        secret: Some(c.read()?),
    })
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

pub fn insert(
    conn: &Connection,
    store_id: i64,
    f: &SubscriptionFields,
    secret: &str,
) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    let (disabled_at, reason) = if f.enabled {
        (None, None)
    } else {
        (Some(now.as_str()), Some(DISABLED_BY_USER))
    };
    conn.prepare_cached(
        "INSERT INTO webhook_subscriptions (store_id, target_url, events, payload_format,
            description, secret, enabled, disabled_at, disabled_reason, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        store_id,
        f.target_url,
        serde_json::to_string(&f.events).expect("strings serialise"),
        f.payload_format,
        f.description,
        secret,
        f.enabled,
        disabled_at,
        reason,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Stores changed fields. Disabling by hand notes `disabled_by_user` and drops what is
/// queued; enabling clears any reason.
pub fn update(
    conn: &Connection,
    current: &Subscription,
    f: &SubscriptionFields,
) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    conn.prepare_cached(
        "UPDATE webhook_subscriptions SET target_url = ?2, events = ?3, payload_format = ?4,
            description = ?5, updated_at = ?6 WHERE id = ?1",
    )?
    .execute(params![
        current.id,
        f.target_url,
        serde_json::to_string(&f.events).expect("strings serialise"),
        f.payload_format,
        f.description,
        now
    ])?;
    match (current.enabled, f.enabled) {
        (true, false) => disable(conn, current.id, DISABLED_BY_USER)?,
        (false, true) => {
            conn.prepare_cached(
                "UPDATE webhook_subscriptions SET enabled = 1, disabled_at = NULL,
                    disabled_reason = NULL, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![current.id, now])?;
        }
        _ => {}
    }
    Ok(())
}

/// Disables a subscription for `reason` and drops the events still queued for it
/// (kept as failed, with why, so they can be delivered again by hand).
pub fn disable(conn: &Connection, id: i64, reason: &str) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    let changed = conn
        .prepare_cached(
            "UPDATE webhook_subscriptions SET enabled = 0, disabled_at = ?3,
                disabled_reason = ?2, updated_at = ?3 WHERE id = ?1 AND enabled",
        )?
        .execute(params![id, reason, now])?;
    if changed == 1 {
        conn.prepare_cached(
            "UPDATE outbox SET status = 'failed', last_error = ?3, updated_at = ?4
             WHERE channel = ?1 AND status = 'pending' AND address = ?2",
        )?
        .execute(params![
            CHANNEL,
            id.to_string(),
            format!("not sent: the subscription was disabled ({reason})"),
            now
        ])?;
    }
    Ok(())
}

/// A new secret; the old one keeps signing beside it until `overlap_until`.
pub fn rotate_secret(
    conn: &Connection,
    id: i64,
    secret: &str,
    overlap_until: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE webhook_subscriptions SET previous_secret = secret,
            previous_secret_expires_at = ?3, secret = ?2, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, secret, overlap_until, time_fmt::now()])?;
    Ok(())
}

/// One subscription of the store, with its secret.
pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Subscription>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_subscriptions WHERE id = ?1 AND store_id = ?2"
    ))?
    .query_row(params![id, store_id], from_row)
    .optional()
}

/// The store's subscriptions, oldest first, without their secrets; with `event`, only
/// those that receive it.
pub fn list(
    conn: &Connection,
    store_id: i64,
    event: Option<&str>,
) -> rusqlite::Result<Vec<Subscription>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_subscriptions WHERE store_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([store_id], from_row)?;
    let mut out = Vec::new();
    for s in rows {
        let mut s = s?;
        if event.is_none_or(|e| s.receives(e)) {
            s.secret = None;
            out.push(s);
        }
    }
    Ok(out)
}

/// Deletes a subscription of the store with its queued events and delivery history.
pub fn delete(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM webhook_subscriptions WHERE id = ?1 AND store_id = ?2")?
        .execute(params![id, store_id])?;
    if n == 1 {
        conn.prepare_cached("DELETE FROM outbox WHERE channel = ?1 AND address = ?2")?
            .execute(params![CHANNEL, id.to_string()])?;
        conn.prepare_cached("DELETE FROM webhook_deliveries WHERE subscription_id = ?1")?
            .execute([id])?;
    }
    Ok(n == 1)
}

/// The secrets that sign a delivery now: the current one, and the previous one while
/// its overlap lasts.
pub fn signing_secrets(
    secret: String,
    previous: Option<String>,
    previous_until: Option<String>,
    now: &str,
) -> Vec<String> {
    let mut out = vec![secret];
    if let (Some(p), Some(until)) = (previous, previous_until) {
        if until.as_str() > now {
            out.push(p);
        }
    }
    out
}
