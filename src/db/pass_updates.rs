//! What a change to a pass queues for the wallets: the one place every change a pass
//! shows goes through (stamps, a card template's design, rewards, archive and expiry, a
//! store's name, a customer's name), called by the storage functions that make those
//! changes, inside their transaction, so the update is saved with the change or not at
//! all.
//!
//! - Apple Wallet (`apns`): a row per registered device, addressed to its push token. A
//!   push only tells a device to ask which of its passes changed.
//! - Google Wallet (`google`): a row per loyalty object (a customer card) and per
//!   loyalty class (a card template) to write; the sender writes what it reads when it
//!   sends. A reward that became affordable adds a message row, which Google shows
//!   with a notification.
//!
//! Rows are only ever appended here, never looked up and merged: a stamp then writes
//! to the end of the outbox and its indexes, pages every stamp of a commit shares,
//! instead of a page of its own in an index by device or card, which would be written
//! (and synced) again when the row goes. The sender merges instead: the rows of one
//! address it finds due together go out as one push or one write (see
//! `crate::outbox::Channel::merges`), so every change to a device's passes while a
//! push to it is waiting or on its way is one more push at most. Rows about a customer
//! card name the card, not the customer: an index by customer is one more page per
//! stamp (erasing a customer finds them through the store's wallet rows).
//!
//! Which wallets are on is a setting: the writer thread learns it when it starts
//! ([`feed`]); elsewhere (imports, the command line) nothing is queued.

use std::cell::Cell;

use rusqlite::{params, Connection};

use super::outbox::{self, APNS, GOOGLE};
use crate::time_fmt;

/// The wallets whose updates this thread queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Feeds {
    pub apns: bool,
    pub google: bool,
}

thread_local! {
    static FEEDS: Cell<Feeds> = const { Cell::new(Feeds { apns: false, google: false }) };
}

/// Sets the wallets this thread queues updates for (the writer thread, at its start).
pub fn feed(feeds: Feeds) {
    FEEDS.with(|f| f.set(feeds));
}

fn feeds() -> Feeds {
    FEEDS.with(Cell::get)
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// One customer card's stamps.
    CustomerCard(i64),
    /// A customer's name: every pass of theirs.
    Customer(i64),
    /// A card template's design, rewards, archive or expiry: its class and every pass
    /// of it.
    Card(i64),
    /// A store's name: its classes and every pass of it.
    Store(i64),
}

impl Changed {
    /// The condition on `cc` (customer_cards) for the passes it touches.
    fn passes(self) -> &'static str {
        match self {
            Changed::CustomerCard(_) => "cc.id = ?1",
            Changed::Customer(_) => "cc.customer_id = ?1",
            Changed::Card(_) => "cc.card_id = ?1",
            Changed::Store(_) => "cc.store_id = ?1",
        }
    }

    fn id(self) -> i64 {
        match self {
            Changed::CustomerCard(id)
            | Changed::Customer(id)
            | Changed::Card(id)
            | Changed::Store(id) => id,
        }
    }
}

/// Queues the wallet updates of a change. `quiet` (a stamp's `skip_notifications`)
/// pushes nothing to Apple devices; the passes still show it at their next refresh.
pub fn changed(conn: &Connection, what: Changed, quiet: bool) -> rusqlite::Result<()> {
    let feeds = feeds();
    let now = time_fmt::now();
    if feeds.apns && !quiet {
        push_to_devices(conn, what, &now)?;
    }
    if feeds.google {
        if matches!(what, Changed::Card(_) | Changed::Store(_)) {
            update_classes(conn, what, &now)?;
        }
        // A store's name is on its classes only.
        if !matches!(what, Changed::Store(_)) {
            update_objects(conn, what, &now)?;
        }
    }
    Ok(())
}

/// Queues the updates of a card's new balance (a stamp, a correction, a redemption):
/// [`changed`], and Google's message when a reward became affordable with it (not when
/// `quiet`).
pub fn stamps_changed(
    conn: &Connection,
    customer_card_id: i64,
    before: i64,
    after: i64,
    quiet: bool,
) -> rusqlite::Result<()> {
    changed(conn, Changed::CustomerCard(customer_card_id), quiet)?;
    if feeds().google && !quiet && after > before {
        reward_message(conn, customer_card_id, before, after, &time_fmt::now())?;
    }
    Ok(())
}

/// Touches the templates whose expiry time has come since they last changed (their
/// `updated_at` moves to now, so passes and their update tags show the change) and
/// queues their updates; returns how many expired.
pub fn expire_due_cards(conn: &Connection) -> rusqlite::Result<usize> {
    let now = time_fmt::now();
    let expired: Vec<i64> = conn
        .prepare_cached(
            "UPDATE cards SET updated_at = ?1
             WHERE expires_at IS NOT NULL AND expires_at <= ?1 AND updated_at < expires_at
             RETURNING id",
        )?
        .query_map([&now], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for &card in &expired {
        changed(conn, Changed::Card(card), false)?;
    }
    Ok(expired.len())
}

/// Inserts the rows `select` gives (channel, store, customer, customer card, address,
/// payload), pending from `now`; notes their channel when there are any.
fn append(
    conn: &Connection,
    channel: &str,
    select: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<()> {
    let sql = format!(
        "INSERT INTO outbox (channel, store_id, customer_id, customer_card_id, address,
            payload, status, next_attempt_at, created_at, updated_at)
         SELECT '{channel}', store_id, customer_id, customer_card_id, address, payload,
            'pending', now, now, now
         FROM ({select})"
    );
    if conn.prepare_cached(&sql)?.execute(params)? > 0 {
        outbox::note_queued(channel);
    }
    Ok(())
}

fn push_to_devices(conn: &Connection, what: Changed, now: &str) -> rusqlite::Result<()> {
    let select = format!(
        "SELECT cc.store_id AS store_id, NULL AS customer_id, cc.id AS customer_card_id,
            pr.push_token AS address,
            json_object('device', pr.device_library_id, 'pass', cc.uuid) AS payload,
            ?2 AS now
         FROM pass_registrations pr JOIN customer_cards cc ON cc.id = pr.customer_card_id
         WHERE {}",
        what.passes()
    );
    append(conn, APNS, &select, params![what.id(), now])
}

fn update_objects(conn: &Connection, what: Changed, now: &str) -> rusqlite::Result<()> {
    let select = format!(
        "SELECT cc.store_id AS store_id, NULL AS customer_id, cc.id AS customer_card_id,
            'object/' || cc.uuid AS address, NULL AS payload, ?2 AS now
         FROM customer_cards cc
         JOIN customers cu ON cu.id = cc.customer_id AND cu.erased_at IS NULL
         WHERE {}",
        what.passes()
    );
    append(conn, GOOGLE, &select, params![what.id(), now])
}

/// Queues the class of each template `what` touches that has cards (a class nobody
/// holds a card of has nothing to update).
fn update_classes(conn: &Connection, what: Changed, now: &str) -> rusqlite::Result<()> {
    let condition = match what {
        Changed::Store(_) => "c.store_id = ?1",
        _ => "c.id = ?1",
    };
    let select = format!(
        "SELECT c.store_id AS store_id, NULL AS customer_id, NULL AS customer_card_id,
            'class/' || c.id AS address, NULL AS payload, ?2 AS now
         FROM cards c
         WHERE {condition} AND c.customer_cards_count > 0"
    );
    append(conn, GOOGLE, &select, params![what.id(), now])
}

/// Queues a message about the dearest active reward of the card that `before` stamps
/// did not pay for and `after` do, if any. Messages name their customer: they are kept
/// once sent, and counted per card and day (`crate::outbox::google`).
fn reward_message(
    conn: &Connection,
    customer_card_id: i64,
    before: i64,
    after: i64,
    now: &str,
) -> rusqlite::Result<()> {
    let select = "SELECT cc.store_id AS store_id, cc.customer_id AS customer_id,
            cc.id AS customer_card_id, 'message/' || cc.uuid AS address,
            json_object('reward_id', r.id, 'reward', r.name) AS payload, ?4 AS now
         FROM customer_cards cc JOIN rewards r ON r.card_id = cc.card_id
         WHERE cc.id = ?1 AND r.active AND r.deleted_at IS NULL
           AND r.stamps_required > ?2 AND r.stamps_required <= ?3
         ORDER BY r.stamps_required DESC, r.id LIMIT 1";
    append(
        conn,
        GOOGLE,
        select,
        params![customer_card_id, before, after, now],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, cards, customers, outbox, passes, rewards};

    /// A store with a card template (a reward at 3 stamps), Ann enrolled in it, and her
    /// pass registered on two devices: (guard, connection, store, card, customer card).
    fn a_pass_on_two_devices() -> (tempfile::TempDir, Connection, i64, i64, i64) {
        let (dir, conn, store) = db::testing::database_with_a_store();
        let design = cards::CardDesign {
            name: "Coffee".into(),
            ..Default::default()
        };
        let card_id = cards::insert(&conn, store, &design, None).unwrap();
        let reward = rewards::RewardFields {
            name: "Free coffee".into(),
            stamps_required: 3,
            ..Default::default()
        };
        rewards::insert(&conn, store, card_id, &reward).unwrap();
        let ann = customers::CustomerFields {
            first_name: "Ann".into(),
            last_name: None,
            email: None,
            phone: None,
            birthday: None,
            metadata: Default::default(),
        };
        let customer = customers::insert(&conn, store, &ann).unwrap();
        let card = cards::find(&conn, store, card_id).unwrap().unwrap();
        let cc =
            db::customer_cards::enrol(&conn, store, customer, &card, &Default::default()).unwrap();
        passes::register(&conn, "device-a", cc, "aa11").unwrap();
        passes::register(&conn, "device-b", cc, "bb22").unwrap();
        conn.execute("DELETE FROM outbox", []).unwrap();
        (dir, conn, store, card_id, cc)
    }

    /// (channel, address) of the pending rows, in the order they were queued.
    fn pending(conn: &Connection) -> Vec<(String, String)> {
        db::all(
            conn,
            "SELECT channel, address FROM outbox WHERE status = 'pending' ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    fn row(channel: &str, address: &str) -> (String, String) {
        (channel.to_string(), address.to_string())
    }

    #[test]
    fn nothing_is_queued_for_wallets_that_are_off() {
        let (_dir, conn, _, card, cc) = a_pass_on_two_devices();
        feed(Feeds::default());
        stamps_changed(&conn, cc, 0, 5, false).unwrap();
        changed(&conn, Changed::Card(card), false).unwrap();
        assert!(pending(&conn).is_empty());
    }

    /// A stamp queues a push per device and the Google object; the stamp that makes a
    /// reward affordable adds its message. Rows are appended, one per change (the sender
    /// merges them), and name the card, not the customer, except messages.
    #[test]
    fn a_stamp_queues_a_push_per_device_and_the_google_object() {
        let (_dir, conn, _, _, cc) = a_pass_on_two_devices();
        feed(Feeds {
            apns: true,
            google: true,
        });
        let _ = outbox::take_queued();
        stamps_changed(&conn, cc, 0, 1, false).unwrap();
        let uuid: String = conn
            .query_row("SELECT uuid FROM customer_cards WHERE id = ?1", [cc], |r| {
                r.get(0)
            })
            .unwrap();
        let object = format!("object/{uuid}");
        let first = [
            row("apns", "aa11"),
            row("apns", "bb22"),
            row("google", &object),
        ];
        assert_eq!(pending(&conn), first);
        assert_eq!(outbox::take_queued(), ["apns", "google"]);
        let (payload, customer, card): (String, Option<i64>, i64) = conn
            .query_row(
                "SELECT payload, customer_id, customer_card_id FROM outbox
                 WHERE address = 'aa11'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload["device"], "device-a");
        assert_eq!(payload["pass"], uuid.as_str());
        assert_eq!((customer, card), (None, cc));

        // 1 -> 3 stamps pays for the reward: the rows again, and its message.
        stamps_changed(&conn, cc, 1, 3, false).unwrap();
        let message = format!("message/{uuid}");
        let mut second = first.to_vec();
        second.extend(first.iter().cloned());
        second.push(row("google", &message));
        assert_eq!(pending(&conn), second);
        let (payload, customer): (String, Option<i64>) = conn
            .query_row(
                "SELECT payload, customer_id FROM outbox WHERE address = ?1",
                [&message],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(payload.contains("Free coffee"), "{payload}");
        assert!(customer.is_some(), "a message names its customer");

        // Quiet: no push and no message, but Google's object still follows. A stamp that
        // does not cross the reward's price says nothing.
        conn.execute("DELETE FROM outbox", []).unwrap();
        stamps_changed(&conn, cc, 3, 5, true).unwrap();
        assert_eq!(pending(&conn), [row("google", &object)]);
        stamps_changed(&conn, cc, 5, 6, false).unwrap();
        assert_eq!(pending(&conn).len(), 4, "no message");
    }

    /// A template's change reaches its class and every pass of it; a store's name its
    /// classes only (and the devices); a customer's name their passes.
    #[test]
    fn templates_stores_and_customers_reach_their_passes() {
        let (_dir, conn, store, card, cc) = a_pass_on_two_devices();
        feed(Feeds {
            apns: false,
            google: true,
        });
        changed(&conn, Changed::Card(card), false).unwrap();
        let keys = |conn: &Connection| -> Vec<String> {
            pending(conn)
                .into_iter()
                .map(|(_, address)| address)
                .collect()
        };
        assert_eq!(keys(&conn).len(), 2);
        assert!(keys(&conn).contains(&format!("class/{card}")));
        conn.execute("DELETE FROM outbox", []).unwrap();
        changed(&conn, Changed::Store(store), false).unwrap();
        assert_eq!(keys(&conn), [format!("class/{card}")]);
        conn.execute("DELETE FROM outbox", []).unwrap();
        let customer: i64 = conn
            .query_row(
                "SELECT customer_id FROM customer_cards WHERE id = ?1",
                [cc],
                |r| r.get(0),
            )
            .unwrap();
        changed(&conn, Changed::Customer(customer), false).unwrap();
        assert_eq!(keys(&conn).len(), 1);
        assert!(keys(&conn)[0].starts_with("object/"));
    }

    /// A template whose expiry time came is touched once: its passes' update follows.
    #[test]
    fn an_expired_template_is_touched_once() {
        let (_dir, conn, _, card, _) = a_pass_on_two_devices();
        feed(Feeds {
            apns: true,
            google: false,
        });
        conn.execute(
            "UPDATE cards SET expires_at = '2000-01-01T00:00:00.000Z',
                updated_at = '1999-12-31T00:00:00.000Z' WHERE id = ?1",
            [card],
        )
        .unwrap();
        assert_eq!(expire_due_cards(&conn).unwrap(), 1);
        assert_eq!(pending(&conn).len(), 2, "a push per device");
        assert_eq!(expire_due_cards(&conn).unwrap(), 0, "once");
    }
}
