-- Card links are throttled per customer and channel; a send held back is kept as a row
-- with status `suppressed` and the reason in `last_error`, so the deliveries list shows
-- what did not go out and why. SQLite cannot change a CHECK in place: the table is
-- rebuilt with the same columns, rows and ids.
--
-- The throttle asks "when did card links last go to this customer by this channel":
-- the customer index now covers channel and time too (it still serves the list's
-- customer filter and erasing a customer's rows).

CREATE TABLE outbox_new (
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
    -- `pending`, `sent`, `failed`, or `suppressed`: held back by the throttle, never sent.
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    next_attempt_at   TEXT NOT NULL,
    sent_at           TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

INSERT INTO outbox_new (id, channel, store_id, customer_id, customer_card_id, address,
    payload, key, status, attempts, last_error, next_attempt_at, sent_at, created_at,
    updated_at)
SELECT id, channel, store_id, customer_id, customer_card_id, address,
    payload, key, status, attempts, last_error, next_attempt_at, sent_at, created_at,
    updated_at
FROM outbox ORDER BY id;

DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

-- A store's list, newest first.
CREATE INDEX outbox_by_store ON outbox(store_id, id);
-- A customer's rows by channel and time: the throttle, the list's customer filter, and
-- erasing a customer drops theirs.
CREATE INDEX outbox_by_customer ON outbox(customer_id, channel, created_at)
    WHERE customer_id IS NOT NULL;
-- A channel's due rows, soonest first; only pending rows, which stay few while sent
-- ones pile up.
CREATE INDEX outbox_due ON outbox(channel, next_attempt_at) WHERE status = 'pending';
CREATE UNIQUE INDEX outbox_pending_key ON outbox(channel, key)
    WHERE status = 'pending' AND key IS NOT NULL;
