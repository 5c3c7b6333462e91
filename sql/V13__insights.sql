-- The owner's insights.
--
-- A store keeps its time zone (an IANA name): insights count days, weeks and hours as
-- the shop's clock shows them.
--
-- `insight_days` holds the additive figures per store, card template and local day,
-- written in the same transaction as each ledger row (`db::insights::rollup`), so they
-- always sum to what the ledger says. Changing a store's time zone rebuilds its rows.
-- Staff members are not part of the key yet: stampd has no staff accounts so far.
--   stamps            stamps given (welcome bonuses, stamps, positive adjustments)
--   corrections       stamps taken back by negative adjustments
--   redemptions       rewards redeemed; stamps_redeemed the stamps they spent
--   rewards_unlocked  times a card's balance crossed a multiple of its stamps_required
--   new_customers     customers whose first card was issued that day
--
-- The `insight_*` tables below it are the periodic recompute's results (figures over
-- distinct customers and figures that depend on the current time), replaced whole per
-- store by `db::insights::recompute`.

ALTER TABLE stores ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE insight_days (
    store_id          INTEGER NOT NULL REFERENCES stores(id),
    day               TEXT NOT NULL,
    card_id           INTEGER NOT NULL REFERENCES cards(id),
    stamps            INTEGER NOT NULL DEFAULT 0,
    corrections       INTEGER NOT NULL DEFAULT 0,
    redemptions       INTEGER NOT NULL DEFAULT 0,
    stamps_redeemed   INTEGER NOT NULL DEFAULT 0,
    rewards_unlocked  INTEGER NOT NULL DEFAULT 0,
    new_customers     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day, card_id)
) WITHOUT ROWID;

-- Every store is in UTC until its owner says otherwise: the backfill counts UTC days.
INSERT INTO insight_days (store_id, day, card_id, stamps, corrections, redemptions,
                          stamps_redeemed, rewards_unlocked)
SELECT e.store_id, substr(e.created_at, 1, 10), cc.card_id,
       sum(CASE WHEN e.stamps > 0 AND e.kind <> 'redemption' THEN e.stamps ELSE 0 END),
       sum(CASE WHEN e.stamps < 0 AND e.kind <> 'redemption' THEN -e.stamps ELSE 0 END),
       sum(e.kind = 'redemption'),
       sum(CASE WHEN e.kind = 'redemption' THEN -e.stamps ELSE 0 END),
       sum(CASE WHEN e.stamps > 0 AND e.kind <> 'redemption'
                THEN e.balance_after / c.stamps_required
                     - (e.balance_after - e.stamps) / c.stamps_required
                ELSE 0 END)
FROM stamp_events e
JOIN customer_cards cc ON cc.id = e.customer_card_id
JOIN cards c ON c.id = cc.card_id
GROUP BY e.store_id, substr(e.created_at, 1, 10), cc.card_id;

INSERT INTO insight_days (store_id, day, card_id, new_customers)
SELECT cc.store_id, substr(cc.issued_at, 1, 10), cc.card_id, count(*)
FROM customer_cards cc
WHERE cc.id = (SELECT min(f.id) FROM customer_cards f WHERE f.customer_id = cc.customer_id)
GROUP BY cc.store_id, substr(cc.issued_at, 1, 10), cc.card_id
ON CONFLICT (store_id, day, card_id) DO UPDATE SET new_customers = excluded.new_customers;

-- One row per visit (see the API's conventions: a customer's stamps within two hours
-- of the first of them), in the store's time zone: `at` its start in Unix seconds,
-- `day` its local date, `hour_of_week` 0 (Monday 00:00) to 167.
CREATE TABLE insight_visits (
    store_id      INTEGER NOT NULL REFERENCES stores(id),
    day           TEXT NOT NULL,
    customer_id   INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    hour_of_week  INTEGER NOT NULL,
    PRIMARY KEY (store_id, day, customer_id, at)
) WITHOUT ROWID;

-- Each customer with at least one visit, and the segment they were in when computed.
CREATE TABLE insight_customers (
    store_id      INTEGER NOT NULL REFERENCES stores(id),
    segment       TEXT NOT NULL CHECK (segment IN ('new', 'regular', 'at_risk', 'lapsed')),
    customer_id   INTEGER NOT NULL,
    visits        INTEGER NOT NULL,
    first_visit   INTEGER NOT NULL,
    last_visit    INTEGER NOT NULL,
    PRIMARY KEY (store_id, segment, customer_id)
) WITHOUT ROWID;

-- When each store was last recomputed, from which ledger row on it is stale, and the
-- reward liability then: rewards the cards can pay now and stamps toward the next.
CREATE TABLE insight_stores (
    store_id            INTEGER PRIMARY KEY REFERENCES stores(id),
    computed_at         TEXT NOT NULL,
    last_event_id       INTEGER NOT NULL,
    time_zone           TEXT NOT NULL,
    rewards_affordable  INTEGER NOT NULL,
    stamps_outstanding  INTEGER NOT NULL
);
