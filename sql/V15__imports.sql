-- Moving in: the ledger takes a new kind, `import` (a balance brought over from another
-- system, its source named in the note), and imports keep what they have done so that
-- one run again resumes instead of repeating.

-- SQLite cannot change a CHECK constraint in place: the ledger is copied into a table
-- that allows the new kind (the documented way to change a table's definition).
CREATE TABLE stamp_events_new (
    id                  INTEGER PRIMARY KEY,
    store_id            INTEGER NOT NULL REFERENCES stores(id),
    customer_card_id    INTEGER NOT NULL REFERENCES customer_cards(id),
    kind                TEXT NOT NULL CHECK (kind IN ('welcome_bonus', 'stamp', 'adjustment', 'redemption', 'import')),
    stamps              INTEGER NOT NULL,
    balance_after       INTEGER NOT NULL CHECK (balance_after >= 0),
    reward_id           INTEGER REFERENCES rewards(id),
    reward_name         TEXT,
    note                TEXT,
    token_id            INTEGER REFERENCES api_tokens(id),
    skip_notifications  INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    staff_id            INTEGER REFERENCES staff(id),
    staff_name          TEXT,
    device_id           INTEGER REFERENCES devices(id),
    visit_started_at    TEXT
);
INSERT INTO stamp_events_new SELECT * FROM stamp_events;
DROP TABLE stamp_events;
ALTER TABLE stamp_events_new RENAME TO stamp_events;
CREATE INDEX stamp_events_by_card ON stamp_events(customer_card_id, id);
CREATE INDEX stamp_events_by_staff ON stamp_events(customer_card_id, staff_id);

-- One import run, CSV or from another server: what it reads (`fingerprint`: the
-- file's hash with the options that change its meaning, or the source's address and
-- account) and how far it got (`position`: rows of a file, pages of a source), so the
-- same import run again starts where the last one stopped.
CREATE TABLE imports (
    id           INTEGER PRIMARY KEY,
    store_id     INTEGER NOT NULL REFERENCES stores(id),
    source       TEXT NOT NULL CHECK (source IN ('csv', 'leal')),
    fingerprint  TEXT NOT NULL,
    position     INTEGER NOT NULL DEFAULT 0,
    finished_at  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX imports_by_fingerprint ON imports(source, fingerprint, id);

-- What a record of another server became here (its card templates, rewards,
-- locations, posters), so that importing again updates instead of duplicating.
CREATE TABLE import_links (
    store_id   INTEGER NOT NULL REFERENCES stores(id),
    origin     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    local_id   INTEGER NOT NULL,
    PRIMARY KEY (store_id, origin, kind, source_id)
) WITHOUT ROWID;
