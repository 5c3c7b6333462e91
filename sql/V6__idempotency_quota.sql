-- Stored Idempotency-Key replies are bounded per token: each token may hold a quota of
-- stored bytes (the setting `idempotency_quota_kib`). `idempotency_usage` keeps what
-- each token holds, by triggers, so a keyed request checks its quota with one look-up.
-- A row counts its body and key, plus 64 bytes for the rest of it (fingerprint, time,
-- status), so that even empty replies cannot pile up without bound.
--
-- A keyed request forgets its token's expired replies first and, when its quota is
-- full, says when the oldest reply expires: both ask for one token's replies by age.

CREATE TABLE idempotency_usage (
    token_id  INTEGER PRIMARY KEY REFERENCES api_tokens(id),
    bytes     INTEGER NOT NULL
);

INSERT INTO idempotency_usage (token_id, bytes)
SELECT token_id, sum(length(CAST(body AS BLOB)) + length(CAST(key AS BLOB)) + 64)
FROM idempotency_keys GROUP BY token_id;

CREATE TRIGGER idempotency_keys_insert AFTER INSERT ON idempotency_keys BEGIN
    INSERT INTO idempotency_usage (token_id, bytes)
    VALUES (NEW.token_id, length(CAST(NEW.body AS BLOB)) + length(CAST(NEW.key AS BLOB)) + 64)
    ON CONFLICT (token_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER idempotency_keys_delete AFTER DELETE ON idempotency_keys BEGIN
    UPDATE idempotency_usage
    SET bytes = bytes - (length(CAST(OLD.body AS BLOB)) + length(CAST(OLD.key AS BLOB)) + 64)
    WHERE token_id = OLD.token_id;
END;

CREATE INDEX idempotency_keys_by_token_age ON idempotency_keys(token_id, created_at);
