-- Staff at the counter: people with PINs, paired devices, who gave each stamp, and
-- stamp limits with the flags they raise.
--
-- A staff member signs in on a paired device with their PIN (an argon2 hash is kept,
-- never the PIN). Wrong PINs are counted per staff member and per device; past a few,
-- `locked_until` holds further tries off for a time that grows with each failure.

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    store_id      INTEGER NOT NULL REFERENCES stores(id),
    name          TEXT NOT NULL,
    pin_hash      TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    active        INTEGER NOT NULL DEFAULT 1,
    failed_pins   INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX staff_by_store ON staff(store_id, id);

-- A paired device authenticates with an API token of its own (`token_id`: its hash,
-- its last use and its revocation live with the other tokens), reaching one store.
CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    store_id      INTEGER NOT NULL REFERENCES stores(id),
    token_id      INTEGER NOT NULL UNIQUE REFERENCES api_tokens(id),
    name          TEXT NOT NULL,
    failed_pins   INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX devices_by_store ON devices(store_id, id);

-- A code an owner shows for a device to pair with: single use, short-lived, kept as
-- its SHA-256 only.
CREATE TABLE pairing_codes (
    code_hash   BLOB PRIMARY KEY,
    store_id    INTEGER NOT NULL REFERENCES stores(id),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;

-- A staff member signed in on a device, until `expires_at` or sign-out.
CREATE TABLE staff_sessions (
    token_hash  BLOB PRIMARY KEY,
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    staff_id    INTEGER NOT NULL REFERENCES staff(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX staff_sessions_by_device ON staff_sessions(device_id);

-- Who gave each ledger row (null for plain API tokens and earlier rows), and for a
-- stamp the start of the customer's visit it belongs to (stamps within two hours of the
-- first of them, on any of their cards).
ALTER TABLE stamp_events ADD COLUMN staff_id INTEGER REFERENCES staff(id);
ALTER TABLE stamp_events ADD COLUMN staff_name TEXT;
ALTER TABLE stamp_events ADD COLUMN device_id INTEGER REFERENCES devices(id);
ALTER TABLE stamp_events ADD COLUMN visit_started_at TEXT;
CREATE INDEX stamp_events_by_staff ON stamp_events(customer_card_id, staff_id);

-- Stamp limits of a card template (null: none).
ALTER TABLE cards ADD COLUMN max_stamps_per_visit INTEGER;
ALTER TABLE cards ADD COLUMN min_minutes_between_visits INTEGER;
ALTER TABLE cards ADD COLUMN max_stamps_per_day INTEGER;

-- Suspicious activity for the owner: stamps refused by a limit, limits overridden by an
-- owner, staff members locked out by wrong PINs.
CREATE TABLE flags (
    id                INTEGER PRIMARY KEY,
    store_id          INTEGER NOT NULL REFERENCES stores(id),
    kind              TEXT NOT NULL CHECK (kind IN ('refused', 'override', 'pin_lockout')),
    limit_name        TEXT,
    message           TEXT NOT NULL,
    customer_id       INTEGER REFERENCES customers(id),
    customer_card_id  INTEGER REFERENCES customer_cards(id),
    stamps            INTEGER,
    staff_id          INTEGER REFERENCES staff(id),
    staff_name        TEXT,
    device_id         INTEGER REFERENCES devices(id),
    token_id          INTEGER REFERENCES api_tokens(id),
    created_at        TEXT NOT NULL
);
CREATE INDEX flags_by_store ON flags(store_id, id);
