//! The outbox table: every side effect as a row for one channel, written in the same
//! transaction as the change that asked for it, sent afterwards by that channel's sender
//! (`crate::outbox`), retried with backoff, and kept with its last error when it gives
//! up. Also the view of it that `GET /deliveries` lists, and which channels the current
//! transaction queued rows for (the writer wakes their senders once it commits).

use std::cell::RefCell;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::time_fmt;

/// Card links by mail.
pub const EMAIL: &str = "email";
/// Card links by text message.
pub const SMS: &str = "sms";
/// Apple Wallet updates: a push to a device that holds passes which changed.
pub const APNS: &str = "apns";
/// Google Wallet updates: a loyalty class, object or message to write at Google.
pub const GOOGLE: &str = "google";
/// The channels of card links: the rows `GET /deliveries` shows without a channel
/// filter, in the order the contract lists them.
pub const CARD_LINK_CHANNELS: &[&str] = &[EMAIL, SMS];
/// Every channel, in the order the status and the lists show them.
pub const CHANNELS: &[&str] = &[EMAIL, SMS, APNS, GOOGLE];

thread_local! {
    /// The channels this thread queued rows for since it last asked ([`take_queued`]):
    /// on the writer thread, those of the group being committed.
    static QUEUED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Notes that rows of `channel` were queued in the current transaction.
pub fn note_queued(channel: &str) {
    QUEUED.with(|q| {
        let mut q = q.borrow_mut();
        if !q.iter().any(|c| c == channel) {
            q.push(channel.to_string());
        }
    });
}

/// The channels rows were queued for since the last call, forgotten as they are read.
pub fn take_queued() -> Vec<String> {
    QUEUED.with(|q| std::mem::take(&mut *q.borrow_mut()))
}
/// The states of a row, in the order the contract lists them. A row of a channel
/// without settings stays `pending`, with [`NOT_CONFIGURED`] as its last error; a
/// [`SUPPRESSED`] row was held back by the card-link throttle (`super::card_links`) and
/// is never sent, its reason in `last_error`.
pub const STATUSES: &[&str] = &["pending", "sent", "failed", SUPPRESSED];
/// The state of a message held back by the throttle.
pub const SUPPRESSED: &str = "suppressed";
/// The reason a row of a channel without settings waits.
pub const NOT_CONFIGURED: &str = "not configured";

/// A row to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    pub channel: &'a str,
    pub store_id: i64,
    pub customer_id: Option<i64>,
    pub customer_card_id: Option<i64>,
    /// Where it goes: a mail address, a phone number, a device token...
    pub address: &'a str,
    /// What the channel needs beyond the address.
    pub payload: Option<&'a serde_json::Value>,
    /// Rows of one channel with the same key are one message while pending: queueing
    /// again replaces the pending row's address and payload instead of adding a row.
    pub key: Option<&'a str>,
}

/// Queues one row, or merges it into the pending row of the same channel and key;
/// returns the row's id.
pub fn enqueue(conn: &Connection, m: &NewMessage) -> rusqlite::Result<i64> {
    enqueue_at(conn, m, &time_fmt::now())
}

/// [`enqueue`] with the time to record: the rows of one send share it, which is how
/// the throttle tells sends apart from rows.
pub fn enqueue_at(conn: &Connection, m: &NewMessage, at: &str) -> rusqlite::Result<i64> {
    insert(conn, m, "pending", None, at)
}

/// Inserts a row in `status`; a pending one with a key merges into the pending row of
/// the same channel and key (the partial unique index holds pending rows alone). A
/// merged row keeps its tries and its next attempt: a change arriving while the channel
/// backs off from a failing target must not cut the wait short.
fn insert(
    conn: &Connection,
    m: &NewMessage,
    status: &str,
    last_error: Option<&str>,
    at: &str,
) -> rusqlite::Result<i64> {
    if status == "pending" {
        note_queued(m.channel);
    }
    conn.prepare_cached(
        "INSERT INTO outbox (channel, store_id, customer_id, customer_card_id, address, payload,
            key, status, last_error, next_attempt_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?10, ?8, ?8, ?8)
         ON CONFLICT (channel, key) WHERE status = 'pending' AND key IS NOT NULL
         DO UPDATE SET customer_id = excluded.customer_id,
            customer_card_id = excluded.customer_card_id, address = excluded.address,
            payload = excluded.payload, updated_at = excluded.updated_at
         RETURNING id",
    )?
    .query_row(
        params![
            m.channel,
            m.store_id,
            m.customer_id,
            m.customer_card_id,
            m.address,
            m.payload.map(|p| p.to_string()),
            m.key,
            at,
            status,
            last_error
        ],
        |r| r.get(0),
    )
}

/// Records a message the throttle held back, with its reason; returns the row's id.
/// Repeats do not pile up: when the newest row of the same customer card and channel
/// is a suppressed one, it takes the new reason and time instead of a new row.
pub fn record_suppressed(
    conn: &Connection,
    m: &NewMessage,
    reason: &str,
    at: &str,
) -> rusqlite::Result<i64> {
    let merged = conn
        .prepare_cached(
            "UPDATE outbox SET address = ?4, last_error = ?5, updated_at = ?6
             WHERE id = (SELECT max(id) FROM outbox
                         WHERE customer_id = ?1 AND channel = ?2 AND customer_card_id IS ?3)
               AND status = 'suppressed'
             RETURNING id",
        )?
        .query_row(
            params![
                m.customer_id,
                m.channel,
                m.customer_card_id,
                m.address,
                reason,
                at
            ],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = merged {
        return Ok(id);
    }
    insert(conn, m, SUPPRESSED, Some(reason), at)
}

/// Drops every row about an erased customer: their addresses (a device's push token
/// among them) go with them. Wallet rows name the customer's cards, not the customer;
/// they are found among the store's wallet rows, which are few (sent ones are not kept).
pub fn forget_customer(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
) -> rusqlite::Result<usize> {
    let named = conn
        .prepare_cached("DELETE FROM outbox WHERE customer_id = ?1")?
        .execute([customer_id])?;
    let of_cards = conn
        .prepare_cached(
            "DELETE FROM outbox WHERE store_id = ?1 AND channel IN (?3, ?4)
               AND customer_card_id IN (SELECT id FROM customer_cards WHERE customer_id = ?2)",
        )?
        .execute(params![store_id, customer_id, APNS, GOOGLE])?;
    Ok(named + of_cards)
}

// ---------------------------------------------------------------------------------
// The view of `GET /deliveries`
// ---------------------------------------------------------------------------------

/// A row as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub account_id: i64,
    /// `None` for a row about a card template (a Google Wallet class).
    pub customer_id: Option<i64>,
    pub customer_card_id: Option<i64>,
    pub channel: String,
    pub address: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A row's columns as the list shows them; wallet rows name their customer through
/// their card.
const COLUMNS: &str = "id, store_id,
    coalesce(customer_id,
        (SELECT cc.customer_id FROM customer_cards cc WHERE cc.id = outbox.customer_card_id)),
    customer_card_id, channel, address, status,
    attempts, last_error, next_attempt_at, sent_at, created_at, updated_at";

/// The list's condition on its customer filter (`?3`), wallet rows' too.
const OF_CUSTOMER: &str = "(?3 IS NULL OR customer_id = ?3 OR (customer_id IS NULL
    AND customer_card_id IN (SELECT id FROM customer_cards WHERE customer_id = ?3)))";

fn from_row(r: &Row) -> rusqlite::Result<Delivery> {
    let status: String = r.get(6)?;
    Ok(Delivery {
        id: r.get(0)?,
        account_id: r.get(1)?,
        customer_id: r.get(2)?,
        customer_card_id: r.get(3)?,
        channel: r.get(4)?,
        address: r.get(5)?,
        next_attempt_at: if status == "pending" { r.get(9)? } else { None },
        status,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        sent_at: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

/// Filters of the delivery list.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: Option<String>,
    pub customer_id: Option<i64>,
    /// One of [`CHANNELS`]; `None` for the card-link channels.
    pub channel: Option<String>,
}

pub fn page(
    conn: &Connection,
    store_id: i64,
    f: &Filter,
    page: i64,
    items: i64,
) -> rusqlite::Result<(Vec<Delivery>, i64)> {
    let channels = match &f.channel {
        Some(c) => serde_json::json!([c]),
        None => serde_json::json!(CARD_LINK_CHANNELS),
    }
    .to_string();
    let count: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM outbox WHERE store_id = ?1
               AND (?2 IS NULL OR status = ?2) AND {OF_CUSTOMER}
               AND channel IN (SELECT value FROM json_each(?4))"
        ))?
        .query_row(params![store_id, f.status, f.customer_id, channels], |r| {
            r.get(0)
        })?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE store_id = ?1
           AND (?2 IS NULL OR status = ?2) AND {OF_CUSTOMER}
           AND channel IN (SELECT value FROM json_each(?4))
         ORDER BY id DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let offset = (page - 1).saturating_mul(items);
    let rows = stmt.query_map(
        params![store_id, f.status, f.customer_id, channels, items, offset],
        from_row,
    )?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, count))
}

/// The rows with these ids, oldest first.
pub fn find_many(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<Delivery>> {
    let json = serde_json::to_string(ids).expect("ids serialise");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
    ))?;
    let rows = stmt.query_map([json], from_row)?;
    rows.collect()
}

/// One channel's rows of a store that are not sent yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows waiting to be sent (or tried again).
    pub pending: i64,
    /// Rows kept after their last try failed.
    pub failed: i64,
    /// When the oldest waiting row was queued.
    pub oldest_pending_at: Option<String>,
    /// The newest error among them, and when it was met.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// The backlog of each of a store's channels, in the order of [`CHANNELS`].
pub fn backlogs(
    conn: &Connection,
    store_id: i64,
) -> rusqlite::Result<Vec<(&'static str, Backlog)>> {
    let mut out = Vec::with_capacity(CHANNELS.len());
    for &channel in CHANNELS {
        let (pending, failed, oldest_pending_at) = conn
            .prepare_cached(
                "SELECT count(*) FILTER (WHERE status = 'pending'),
                        count(*) FILTER (WHERE status = 'failed'),
                        min(created_at) FILTER (WHERE status = 'pending')
                 FROM outbox WHERE store_id = ?1 AND channel = ?2
                   AND status IN ('pending', 'failed')",
            )?
            .query_row(params![store_id, channel], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let last = conn
            .prepare_cached(
                "SELECT last_error, updated_at FROM outbox
                 WHERE store_id = ?1 AND channel = ?2 AND status IN ('pending', 'failed')
                   AND last_error IS NOT NULL
                 ORDER BY updated_at DESC LIMIT 1",
            )?
            .query_row(params![store_id, channel], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (last_error, last_error_at) = last.unzip();
        out.push((
            channel,
            Backlog {
                pending,
                failed,
                oldest_pending_at,
                last_error,
                last_error_at,
            },
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------
// What the senders read and record
// ---------------------------------------------------------------------------------

/// How many rows of `channel` about this customer card that name its customer, whose
/// address starts with `address_prefix`, were queued since `since` and went out.
pub fn sent_since(
    conn: &Connection,
    channel: &str,
    customer_card_id: i64,
    address_prefix: &str,
    since: &str,
) -> rusqlite::Result<i64> {
    // Found through the customer's rows (an index), then narrowed to the card.
    conn.prepare_cached(
        "SELECT count(*) FROM outbox
         WHERE customer_id = (SELECT customer_id FROM customer_cards WHERE id = ?1)
           AND channel = ?2 AND created_at > ?4
           AND customer_card_id = ?1 AND status = 'sent'
           AND substr(address, 1, length(?3)) = ?3",
    )?
    .query_row(
        params![customer_card_id, channel, address_prefix, since],
        |r| r.get(0),
    )
}

/// A row whose time has come, with what a message about it names.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub channel: String,
    pub store_id: i64,
    pub customer_card_id: Option<i64>,
    pub address: String,
    /// The stored JSON text, as queued.
    pub payload: Option<String>,
    /// Tries made so far.
    pub attempts: i64,
    /// The store's name as customers see it.
    pub store_name: String,
    /// The customer card the row is about, if any.
    pub card: Option<DueCard>,
}

/// The customer card a row is about.
#[derive(Debug, Clone)]
pub struct DueCard {
    pub uuid: String,
    pub card_name: String,
    /// The card holder's first name.
    pub first_name: String,
}

/// Pending rows of `channel` whose time has come, soonest first.
pub fn due(conn: &Connection, channel: &str, limit: i64) -> rusqlite::Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, o.channel, o.address, o.payload, o.attempts,
                coalesce(s.store_name, s.name), cc.uuid, c.name, cu.first_name,
                o.store_id, o.customer_card_id
         FROM outbox o
         JOIN stores s ON s.id = o.store_id
         LEFT JOIN customer_cards cc ON cc.id = o.customer_card_id
         LEFT JOIN cards c ON c.id = cc.card_id
         LEFT JOIN customers cu ON cu.id = cc.customer_id
         WHERE o.status = 'pending' AND o.channel = ?1 AND o.next_attempt_at <= ?2
         ORDER BY o.next_attempt_at, o.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![channel, time_fmt::now(), limit], |r| {
        let uuid: Option<String> = r.get(6)?;
        let card = match uuid {
            Some(uuid) => Some(DueCard {
                uuid,
                card_name: r.get(7)?,
                first_name: r.get(8)?,
            }),
            None => None,
        };
        Ok(Due {
            id: r.get(0)?,
            channel: r.get(1)?,
            store_id: r.get(9)?,
            customer_card_id: r.get(10)?,
            address: r.get(2)?,
            payload: r.get(3)?,
            attempts: r.get(4)?,
            store_name: r.get(5)?,
            card,
        })
    })?;
    rows.collect()
}

/// When the next pending row of `channel` is due, if any.
pub fn next_due_at(conn: &Connection, channel: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending' AND channel = ?1",
    )?
    .query_row([channel], |r| r.get(0))
    .optional()
    .map(Option::flatten)
}

/// Forgets `due`, which went out: a channel that keeps no record of what it sent (a
/// wallet update per device and change would outgrow the ledger). A row merged with a
/// newer change while it was being sent is left pending, as [`mark_sent`] does; returns
/// whether the row went.
pub fn delete_sent(conn: &Connection, due: &Due) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "DELETE FROM outbox
             WHERE id = ?1 AND status = 'pending' AND address = ?2 AND payload IS ?3",
        )?
        .execute(params![due.id, due.address, due.payload])?;
    Ok(n == 1)
}

/// Records that `due` went out. A row merged with a newer change while it was being
/// sent is left pending, to go out again as it now reads; returns whether the row was
/// marked sent.
pub fn mark_sent(conn: &Connection, due: &Due) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = NULL,
                sent_at = ?4, updated_at = ?4
             WHERE id = ?1 AND status = 'pending' AND address = ?2 AND payload IS ?3",
        )?
        .execute(params![due.id, due.address, due.payload, time_fmt::now()])?;
    Ok(n == 1)
}

/// Records a failed try: retried at `retry_at`, or kept as failed when `None`.
pub fn mark_failed_try(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: Option<&str>,
) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    match retry_at {
        Some(at) => conn
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                    next_attempt_at = ?3, updated_at = ?4
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![id, error, at, now])?,
        None => conn
            .prepare_cached(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2,
                    updated_at = ?3
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![id, error, now])?,
    };
    Ok(())
}

/// Notes on the pending rows of a channel without settings why they wait.
pub fn mark_unconfigured(conn: &Connection, channel: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE outbox SET last_error = ?3, updated_at = ?2
         WHERE status = 'pending' AND channel = ?1 AND last_error IS NOT ?3",
    )?
    .execute(params![channel, time_fmt::now(), NOT_CONFIGURED])
}

/// One channel's rows in one status, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCount {
    pub channel: String,
    pub status: String,
    pub rows: i64,
    /// Pending rows whose last try failed (0 for other statuses).
    pub retrying: i64,
    /// When the oldest row was queued (for pending rows: how long the oldest has waited).
    pub oldest: Option<String>,
}

/// The rows of every channel in the table (whatever channels exist, not a fixed
/// list), by status.
pub fn counts_by_channel(conn: &Connection) -> rusqlite::Result<Vec<ChannelCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, status, count(*), sum(status = 'pending' AND attempts > 0),
                min(created_at)
         FROM outbox GROUP BY channel, status ORDER BY channel, status",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ChannelCount {
            channel: r.get(0)?,
            status: r.get(1)?,
            rows: r.get(2)?,
            retrying: r.get(3)?,
            oldest: r.get(4)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use serde_json::json;

    fn database() -> (tempfile::TempDir, Connection, i64) {
        db::testing::database_with_a_store()
    }

    fn push<'a>(store_id: i64, payload: &'a serde_json::Value) -> NewMessage<'a> {
        NewMessage {
            channel: "apns",
            store_id,
            customer_id: None,
            customer_card_id: None,
            address: "device-1",
            payload: Some(payload),
            key: Some("pass-1"),
        }
    }

    fn rows(conn: &Connection) -> Vec<(i64, String, Option<String>)> {
        conn.prepare("SELECT id, status, payload FROM outbox ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A change queued with the key of a pending row replaces that row's payload; once
    /// the row is sent, the same key starts a new row.
    #[test]
    fn a_keyed_row_merges_while_pending_and_not_after() {
        let (_dir, conn, store) = database();
        let first = enqueue(&conn, &push(store, &json!({"stamps": 1}))).unwrap();
        let again = enqueue(&conn, &push(store, &json!({"stamps": 2}))).unwrap();
        assert_eq!(first, again);
        assert_eq!(
            rows(&conn),
            vec![(first, "pending".into(), Some(r#"{"stamps":2}"#.into()))]
        );
        // Rows without a key, and rows of another channel, never merge.
        let empty = json!({});
        let unkeyed = NewMessage {
            key: None,
            ..push(store, &empty)
        };
        let a = enqueue(&conn, &unkeyed).unwrap();
        let b = enqueue(&conn, &unkeyed).unwrap();
        assert_ne!(a, b);
        let other = enqueue(
            &conn,
            &NewMessage {
                channel: "google",
                ..push(store, &json!({}))
            },
        )
        .unwrap();
        assert!(![first, a, b].contains(&other));

        let due = due(&conn, "apns", 10).unwrap();
        assert_eq!(due.len(), 3, "{due:?}");
        assert_eq!(due[0].id, first);
        assert!(mark_sent(&conn, &due[0]).unwrap());
        let later = enqueue(&conn, &push(store, &json!({"stamps": 3}))).unwrap();
        assert!(later > other, "a new row after the sent one: {later}");
    }

    /// A row that took a newer change while it was being sent is not marked sent: it
    /// stays pending and goes out again as it now reads.
    #[test]
    fn a_row_changed_while_sending_stays_pending() {
        let (_dir, conn, store) = database();
        let id = enqueue(&conn, &push(store, &json!({"stamps": 1}))).unwrap();
        let taken = due(&conn, "apns", 10).unwrap().remove(0);
        enqueue(&conn, &push(store, &json!({"stamps": 2}))).unwrap();
        assert!(!mark_sent(&conn, &taken).unwrap());
        let again = due(&conn, "apns", 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, id);
        assert_eq!(again[0].payload.as_deref(), Some(r#"{"stamps":2}"#));
        assert!(mark_sent(&conn, &again[0]).unwrap());
        assert_eq!(
            rows(&conn),
            vec![(id, "sent".into(), Some(r#"{"stamps":2}"#.into()))]
        );
    }

    /// Each channel's sender sees only its own rows.
    #[test]
    fn channels_keep_to_their_rows() {
        let (_dir, conn, store) = database();
        enqueue(&conn, &push(store, &json!({}))).unwrap();
        let mail = enqueue(
            &conn,
            &NewMessage {
                channel: EMAIL,
                address: "ann@example.com",
                payload: None,
                key: None,
                ..push(store, &json!({}))
            },
        )
        .unwrap();
        let due_mail = due(&conn, EMAIL, 10).unwrap();
        assert_eq!(due_mail.len(), 1);
        assert_eq!(due_mail[0].id, mail);
        assert!(due(&conn, SMS, 10).unwrap().is_empty());
        assert_eq!(mark_unconfigured(&conn, SMS).unwrap(), 0);
        assert_eq!(mark_unconfigured(&conn, "apns").unwrap(), 1);
        assert_eq!(mark_unconfigured(&conn, "apns").unwrap(), 0, "noted once");
    }
}
