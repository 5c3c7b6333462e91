-- Webhook subscriptions (Leal's `webhook_subscriptions`): where a store's events go,
-- which ones, in which shape, and signed with which secret. Their events travel as rows
-- of the one outbox (channel `webhook`, `address` the subscription's id, `payload` the
-- event as recorded when it happened); each try of one is kept in
-- `webhook_deliveries`, which the subscription's delivery list shows.
--
-- `events` is a JSON array of event names (`["*"]` for all). `previous_secret` keeps
-- signing beside `secret` until `previous_secret_expires_at` after a rotation.
-- `disabled_reason` is NULL while enabled, else `disabled_by_user`, `failing` or
-- `blocked_address`.

CREATE TABLE webhook_subscriptions (
    id                        INTEGER PRIMARY KEY,
    store_id                  INTEGER NOT NULL REFERENCES stores(id),
    target_url                TEXT NOT NULL,
    events                    TEXT NOT NULL CHECK (json_valid(events)),
    payload_format            TEXT NOT NULL DEFAULT 'envelope'
                              CHECK (payload_format IN ('envelope', 'flat')),
    description               TEXT,
    secret                    TEXT NOT NULL,
    previous_secret           TEXT,
    previous_secret_expires_at TEXT,
    enabled                   INTEGER NOT NULL DEFAULT 1,
    disabled_at               TEXT,
    disabled_reason           TEXT CHECK (disabled_reason IS NULL OR disabled_reason IN
                                  ('disabled_by_user', 'failing', 'blocked_address')),
    last_delivery_at          TEXT,
    last_delivery_status      INTEGER,
    last_delivery_error       TEXT,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL
);

-- A store's list, oldest first; the enabled ones an event of the store goes to.
CREATE INDEX webhook_subscriptions_by_store ON webhook_subscriptions(store_id, id);

-- Each try of an event for a subscription: `outbox_id` is the event's outbox row (NULL
-- for a `test`), `status` the HTTP status answered (NULL when none came), `error` why
-- it failed, `duration_ms` from the request's start to its end.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    subscription_id  INTEGER NOT NULL,
    outbox_id        INTEGER,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    status           INTEGER,
    error            TEXT,
    duration_ms      INTEGER NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries(subscription_id, id);

-- A subscription's events in the outbox: dropped with it, failed when it is disabled.
CREATE INDEX outbox_webhooks_by_subscription ON outbox(address, id) WHERE channel = 'webhook';
