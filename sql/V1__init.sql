-- stampd schema, first version. Never edit this file once shipped: add V2__... instead.
--
-- Timestamps are TEXT in ISO 8601 UTC with milliseconds and a Z suffix, so they sort
-- as strings and are returned to clients as stored.
-- Counters shown in store and card JSON (customers_count, cards_count, ...) are kept
-- by triggers in the same transaction as the change, so no request ever counts rows.

CREATE TABLE stores (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    store_name        TEXT,
    customers_count   INTEGER NOT NULL DEFAULT 0,
    cards_count       INTEGER NOT NULL DEFAULT 0,
    locations_count   INTEGER NOT NULL DEFAULT 0,
    posters_count     INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- API tokens. Only the SHA-256 of a token is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT,
    token_hash    BLOB NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE api_token_stores (
    token_id  INTEGER NOT NULL REFERENCES api_tokens(id),
    store_id  INTEGER NOT NULL REFERENCES stores(id),
    PRIMARY KEY (token_id, store_id)
) WITHOUT ROWID;

-- Loyalty card templates.
CREATE TABLE cards (
    id                           INTEGER PRIMARY KEY,
    store_id                     INTEGER NOT NULL REFERENCES stores(id),
    name                         TEXT NOT NULL,
    card_color                   TEXT NOT NULL,
    text_color                   TEXT NOT NULL,
    stamp_icon                   TEXT NOT NULL,
    stamp_color                  TEXT NOT NULL,
    stamp_background_color       TEXT NOT NULL,
    stamps_required              INTEGER NOT NULL,
    initial_stamps               INTEGER NOT NULL DEFAULT 0,
    strip_type                   TEXT NOT NULL,
    strip_color                  TEXT,
    strip_preset                 TEXT,
    header_text                  TEXT,
    show_member_field            INTEGER NOT NULL DEFAULT 1,
    show_stamps_to_reward_field  INTEGER NOT NULL DEFAULT 1,
    expires_at                   TEXT,
    archived_at                  TEXT,
    rewards_count                INTEGER NOT NULL DEFAULT 0,
    customer_cards_count         INTEGER NOT NULL DEFAULT 0,
    created_at                   TEXT NOT NULL,
    updated_at                   TEXT NOT NULL
);
CREATE INDEX cards_by_store ON cards(store_id, id);

CREATE TRIGGER cards_count_insert AFTER INSERT ON cards BEGIN
    UPDATE stores SET cards_count = cards_count + 1 WHERE id = NEW.store_id;
END;

-- Rewards a card's stamps pay for.
CREATE TABLE rewards (
    id               INTEGER PRIMARY KEY,
    store_id         INTEGER NOT NULL REFERENCES stores(id),
    card_id          INTEGER NOT NULL REFERENCES cards(id),
    name             TEXT NOT NULL,
    description      TEXT,
    stamps_required  INTEGER NOT NULL,
    position         INTEGER NOT NULL DEFAULT 0,
    active           INTEGER NOT NULL DEFAULT 1,
    deleted_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX rewards_by_card ON rewards(card_id, stamps_required);
CREATE INDEX rewards_by_store ON rewards(store_id, id);

-- Deleting a reward only marks it, so ledger rows that name it stay valid.
CREATE TRIGGER rewards_count_insert AFTER INSERT ON rewards BEGIN
    UPDATE cards SET rewards_count = rewards_count + 1 WHERE id = NEW.card_id;
END;
CREATE TRIGGER rewards_count_delete AFTER UPDATE OF deleted_at ON rewards
    WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL BEGIN
    UPDATE cards SET rewards_count = rewards_count - 1 WHERE id = NEW.card_id;
END;

-- Customers. `email` is stored trimmed and lower-cased, `phone` in E.164, so the
-- unique indexes enforce "unique within the store" the way clients compare them.
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    store_id    INTEGER NOT NULL REFERENCES stores(id),
    first_name  TEXT NOT NULL,
    last_name   TEXT,
    email       TEXT,
    phone       TEXT,
    birthday    TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    -- Lower-cased names (Unicode case folding done by stampd), for prefix search.
    first_name_key  TEXT NOT NULL,
    last_name_key   TEXT,
    -- Set when the customer's personal data was erased on request; the row stays
    -- (without personal data) so the ledger of their cards stays whole.
    erased_at   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
-- Newest-first pages of a store's (not erased) customers, read from the index alone.
CREATE INDEX customers_live ON customers(store_id, id) WHERE erased_at IS NULL;
CREATE UNIQUE INDEX customers_email ON customers(store_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX customers_phone ON customers(store_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_first_name ON customers(store_id, first_name_key);
CREATE INDEX customers_last_name ON customers(store_id, last_name_key);

-- Substring search over names, email and phone digits (trigram: any fragment of
-- three or more characters is an index look-up, not a scan). Kept by triggers.
CREATE VIRTUAL TABLE customer_search USING fts5(
    name, email, phone,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);

CREATE TRIGGER customers_insert AFTER INSERT ON customers BEGIN
    UPDATE stores SET customers_count = customers_count + 1 WHERE id = NEW.store_id;
    INSERT INTO customer_search(rowid, name, email, phone) VALUES (
        NEW.id,
        NEW.first_name || ' ' || coalesce(NEW.last_name, ''),
        coalesce(NEW.email, ''),
        coalesce(substr(NEW.phone, 2), '')
    );
END;

CREATE TRIGGER customers_update AFTER UPDATE OF first_name, last_name, email, phone ON customers BEGIN
    DELETE FROM customer_search WHERE rowid = OLD.id;
    INSERT INTO customer_search(rowid, name, email, phone)
    SELECT NEW.id,
           NEW.first_name || ' ' || coalesce(NEW.last_name, ''),
           coalesce(NEW.email, ''),
           coalesce(substr(NEW.phone, 2), '')
    WHERE NEW.erased_at IS NULL;
END;

CREATE TRIGGER customers_erase AFTER UPDATE OF erased_at ON customers
    WHEN OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL BEGIN
    UPDATE stores SET customers_count = customers_count - 1 WHERE id = NEW.store_id;
END;

CREATE TRIGGER customers_delete AFTER DELETE ON customers BEGIN
    UPDATE stores SET customers_count = customers_count - 1 WHERE id = OLD.store_id;
    DELETE FROM customer_search WHERE rowid = OLD.id;
END;

-- References to the same customer in other systems (a POS, a CRM ...).
CREATE TABLE external_references (
    id           INTEGER PRIMARY KEY,
    store_id     INTEGER NOT NULL REFERENCES stores(id),
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX external_references_key ON external_references(store_id, source, external_id);
CREATE INDEX external_references_by_id ON external_references(store_id, external_id);
CREATE INDEX external_references_by_customer ON external_references(customer_id);

-- A customer's enrolment in a card template: the stamp card they carry.
CREATE TABLE customer_cards (
    id              INTEGER PRIMARY KEY,
    store_id        INTEGER NOT NULL REFERENCES stores(id),
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    card_id         INTEGER NOT NULL REFERENCES cards(id),
    code            TEXT NOT NULL,
    uuid            TEXT NOT NULL UNIQUE,
    stamps_count    INTEGER NOT NULL DEFAULT 0 CHECK (stamps_count >= 0),
    pass_installed  INTEGER NOT NULL DEFAULT 0,
    -- Apple Wallet: the secret a device presents for this pass.
    pass_auth_token TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX customer_cards_code ON customer_cards(store_id, code);
CREATE UNIQUE INDEX customer_cards_enrolment ON customer_cards(customer_id, card_id);
CREATE INDEX customer_cards_by_card ON customer_cards(card_id);

CREATE TRIGGER customer_cards_count_insert AFTER INSERT ON customer_cards BEGIN
    UPDATE cards SET customer_cards_count = customer_cards_count + 1 WHERE id = NEW.card_id;
END;

-- Apple Wallet devices that installed a pass (the pass web service registers them).
CREATE TABLE pass_registrations (
    device_library_id  TEXT NOT NULL,
    customer_card_id   INTEGER NOT NULL REFERENCES customer_cards(id),
    push_token         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (device_library_id, customer_card_id)
) WITHOUT ROWID;
CREATE INDEX pass_registrations_by_card ON pass_registrations(customer_card_id);

CREATE TRIGGER pass_registrations_insert AFTER INSERT ON pass_registrations BEGIN
    UPDATE customer_cards SET pass_installed = 1 WHERE id = NEW.customer_card_id;
END;
CREATE TRIGGER pass_registrations_delete AFTER DELETE ON pass_registrations BEGIN
    UPDATE customer_cards SET pass_installed = EXISTS (
        SELECT 1 FROM pass_registrations WHERE customer_card_id = OLD.customer_card_id
    ) WHERE id = OLD.customer_card_id;
END;

-- The stamp ledger: one append-only row per welcome bonus, stamp, correction or
-- redemption. A card's stamps_count always equals the sum of its rows' `stamps`.
CREATE TABLE stamp_events (
    id                  INTEGER PRIMARY KEY,
    store_id            INTEGER NOT NULL REFERENCES stores(id),
    customer_card_id    INTEGER NOT NULL REFERENCES customer_cards(id),
    kind                TEXT NOT NULL CHECK (kind IN ('welcome_bonus', 'stamp', 'adjustment', 'redemption')),
    stamps              INTEGER NOT NULL,
    balance_after       INTEGER NOT NULL CHECK (balance_after >= 0),
    reward_id           INTEGER REFERENCES rewards(id),
    reward_name         TEXT,
    note                TEXT,
    token_id            INTEGER REFERENCES api_tokens(id),
    skip_notifications  INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL
);
CREATE INDEX stamp_events_by_card ON stamp_events(customer_card_id, id);

-- Outbox of card-link messages (email, SMS), written in the same transaction as the
-- enrolment that asked for them, so none is ever lost.
CREATE TABLE deliveries (
    id                INTEGER PRIMARY KEY,
    store_id          INTEGER NOT NULL REFERENCES stores(id),
    customer_id       INTEGER NOT NULL REFERENCES customers(id),
    customer_card_id  INTEGER NOT NULL REFERENCES customer_cards(id),
    channel           TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    address           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending',
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    next_attempt_at   TEXT NOT NULL,
    sent_at           TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX deliveries_by_store ON deliveries(store_id, id);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);

-- Responses to requests that carried an Idempotency-Key, replayed for 24 hours to a
-- repeat from the same token. Written in the same transaction as the work itself.
CREATE TABLE idempotency_keys (
    token_id     INTEGER NOT NULL REFERENCES api_tokens(id),
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (token_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys(created_at);

-- A store's shops: they go into Apple passes so the pass shows near the shop.
CREATE TABLE locations (
    id          INTEGER PRIMARY KEY,
    store_id    INTEGER NOT NULL REFERENCES stores(id),
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    latitude    REAL,
    longitude   REAL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX locations_by_store ON locations(store_id, id);

CREATE TRIGGER locations_count_insert AFTER INSERT ON locations BEGIN
    UPDATE stores SET locations_count = locations_count + 1 WHERE id = NEW.store_id;
END;
CREATE TRIGGER locations_count_delete AFTER DELETE ON locations BEGIN
    UPDATE stores SET locations_count = locations_count - 1 WHERE id = OLD.store_id;
END;

-- QR-code signup posters: a printable sheet whose code leads to a public signup page
-- that enrols customers in one card. `token` (random) is the only key in public URLs.
CREATE TABLE posters (
    id                       INTEGER PRIMARY KEY,
    store_id                 INTEGER NOT NULL REFERENCES stores(id),
    card_id                  INTEGER NOT NULL REFERENCES cards(id),
    token                    TEXT NOT NULL UNIQUE,
    title                    TEXT NOT NULL,
    paper_size               TEXT NOT NULL,
    primary_color            TEXT NOT NULL,
    secondary_color          TEXT NOT NULL,
    text_color               TEXT NOT NULL,
    contact_collection_mode  TEXT NOT NULL,
    birthday_required        INTEGER NOT NULL DEFAULT 0,
    active                   INTEGER NOT NULL DEFAULT 1,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX posters_by_store ON posters(store_id, id);

CREATE TRIGGER posters_count_insert AFTER INSERT ON posters BEGIN
    UPDATE stores SET posters_count = posters_count + 1 WHERE id = NEW.store_id;
END;
CREATE TRIGGER posters_count_delete AFTER DELETE ON posters BEGIN
    UPDATE stores SET posters_count = posters_count - 1 WHERE id = OLD.store_id;
END;
