-- One outbox for every side effect. A row is one message for one channel: today the
-- card links by `email` and `sms`; later channels (wallet pushes, Google Wallet
-- updates, webhooks) add rows here instead of tables of their own, and share the
-- sender's retries, kept failures and the list.
--
-- The card-link rows of `deliveries` move here with their ids, which API answers have
-- shown, and `deliveries` goes.
--
-- `channel` has no CHECK on purpose: a new channel is a new sender, not a rebuilt
-- table. `status` is `pending` (waiting to be sent, including a channel without
-- settings: `last_error` then says "not configured"), `sent` or `failed` (kept with its
-- last error after the last try).
--
-- `key` lets a channel merge a change into its row that is still pending for the same
-- subject (one push per pass, say) instead of queueing another; at most one pending row
-- per (channel, key).

CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL,
    store_id          INTEGER NOT NULL REFERENCES stores(id),
    customer_id       INTEGER REFERENCES customers(id),
    customer_card_id  INTEGER REFERENCES customer_cards(id),
    -- A mail address, a phone number, later a device token or a subscription id.
    address           TEXT NOT NULL,
    -- What a channel needs beyond the address, as JSON.
    payload           TEXT CHECK (payload IS NULL OR json_valid(payload)),
    key               TEXT,
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sent', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    next_attempt_at   TEXT NOT NULL,
    sent_at           TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

INSERT INTO outbox (id, channel, store_id, customer_id, customer_card_id, address, status,
    attempts, last_error, next_attempt_at, sent_at, created_at, updated_at)
SELECT id, channel, store_id, customer_id, customer_card_id, address, status,
    attempts, last_error, next_attempt_at, sent_at, created_at, updated_at
FROM deliveries ORDER BY id;

DROP TABLE deliveries;

-- A store's list, newest first.
CREATE INDEX outbox_by_store ON outbox(store_id, id);
-- A customer's rows: the list's customer filter, and erasing a customer drops theirs.
CREATE INDEX outbox_by_customer ON outbox(customer_id) WHERE customer_id IS NOT NULL;
-- A channel's due rows, soonest first; only pending rows, which stay few while sent
-- ones pile up.
CREATE INDEX outbox_due ON outbox(channel, next_attempt_at) WHERE status = 'pending';
CREATE UNIQUE INDEX outbox_pending_key ON outbox(channel, key)
    WHERE status = 'pending' AND key IS NOT NULL;
