-- The trigram search index in leaf pages of 1,000 bytes instead of FTS5's 4,050.
--
-- A fragment search reads, for each trigram, the part of its list inside one store's
-- rowid range and steps through the lists in rowid order; with smaller pages it
-- decodes less of each page it lands on. Measured at a million customers: ~10% less
-- CPU per name-fragment search (p99 ~9% lower), a little less for phone digits.
--
-- `pgsz` applies to segments written from now on, so the index is written again from
-- the customers table (as in V2: keyed by store, live customers only) and merged into
-- one segment.

INSERT INTO customer_search(customer_search) VALUES ('delete-all');
INSERT INTO customer_search(customer_search, rank) VALUES ('pgsz', 1000);
INSERT INTO customer_search(customer_search, rank) VALUES ('automerge', 0);
INSERT INTO customer_search(rowid, name, email, phone)
SELECT store_id * 1099511627776 + id,
       first_name || ' ' || coalesce(last_name, ''),
       coalesce(email, ''),
       coalesce(substr(phone, 2), '')
FROM customers WHERE erased_at IS NULL;
INSERT INTO customer_search(customer_search) VALUES ('optimize');
INSERT INTO customer_search(customer_search, rank) VALUES ('automerge', 4);
