-- Customer lists that stay fast at a million customers, with many stores in one file.
--
-- 1. The search index is keyed by store: an entry's rowid is
--    `store_id * 2^40 + customer id`, so one store's matches are one rowid range of
--    the index, already in customer-id order. A search reads only the index, never the
--    customers table, to find and count its matches. (Customer ids stay far below 2^40.)
--    As before, only live (not erased) customers are in the index.
--
-- 2. `customer_pages` counts each store's live customers per block of 1,024 customer
--    ids, so page N of the newest-first list starts by summing a few block counts
--    instead of stepping over every customer before it.

DROP TRIGGER customers_insert;
DROP TRIGGER customers_update;
DROP TRIGGER customers_erase;
DROP TRIGGER customers_delete;
DROP TABLE customer_search;

CREATE VIRTUAL TABLE customer_search USING fts5(
    name, email, phone,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);

CREATE TABLE customer_pages (
    store_id   INTEGER NOT NULL,
    -- customer id >> 10
    block      INTEGER NOT NULL,
    customers  INTEGER NOT NULL,
    PRIMARY KEY (store_id, block)
) WITHOUT ROWID;

-- Fill both from the customers already there: the index in one merged segment.
INSERT INTO customer_search(customer_search, rank) VALUES ('automerge', 0);
INSERT INTO customer_search(rowid, name, email, phone)
SELECT store_id * 1099511627776 + id,
       first_name || ' ' || coalesce(last_name, ''),
       coalesce(email, ''),
       coalesce(substr(phone, 2), '')
FROM customers WHERE erased_at IS NULL;
INSERT INTO customer_search(customer_search) VALUES ('optimize');
INSERT INTO customer_search(customer_search, rank) VALUES ('automerge', 4);

INSERT INTO customer_pages (store_id, block, customers)
SELECT store_id, id >> 10, count(*) FROM customers WHERE erased_at IS NULL GROUP BY 1, 2;

CREATE TRIGGER customers_insert AFTER INSERT ON customers BEGIN
    UPDATE stores SET customers_count = customers_count + 1 WHERE id = NEW.store_id;
    INSERT INTO customer_pages (store_id, block, customers) VALUES (NEW.store_id, NEW.id >> 10, 1)
        ON CONFLICT (store_id, block) DO UPDATE SET customers = customers + 1;
    INSERT INTO customer_search(rowid, name, email, phone) VALUES (
        NEW.store_id * 1099511627776 + NEW.id,
        NEW.first_name || ' ' || coalesce(NEW.last_name, ''),
        coalesce(NEW.email, ''),
        coalesce(substr(NEW.phone, 2), '')
    );
END;

CREATE TRIGGER customers_update AFTER UPDATE OF first_name, last_name, email, phone ON customers BEGIN
    DELETE FROM customer_search WHERE rowid = OLD.store_id * 1099511627776 + OLD.id;
    INSERT INTO customer_search(rowid, name, email, phone)
    SELECT NEW.store_id * 1099511627776 + NEW.id,
           NEW.first_name || ' ' || coalesce(NEW.last_name, ''),
           coalesce(NEW.email, ''),
           coalesce(substr(NEW.phone, 2), '')
    WHERE NEW.erased_at IS NULL;
END;

CREATE TRIGGER customers_erase AFTER UPDATE OF erased_at ON customers
    WHEN OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL BEGIN
    UPDATE stores SET customers_count = customers_count - 1 WHERE id = NEW.store_id;
    UPDATE customer_pages SET customers = customers - 1
        WHERE store_id = NEW.store_id AND block = NEW.id >> 10;
END;

CREATE TRIGGER customers_delete AFTER DELETE ON customers WHEN OLD.erased_at IS NULL BEGIN
    UPDATE stores SET customers_count = customers_count - 1 WHERE id = OLD.store_id;
    UPDATE customer_pages SET customers = customers - 1
        WHERE store_id = OLD.store_id AND block = OLD.id >> 10;
    DELETE FROM customer_search WHERE rowid = OLD.store_id * 1099511627776 + OLD.id;
END;
