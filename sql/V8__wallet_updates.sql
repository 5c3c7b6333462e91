-- Live wallet cards: Apple Wallet pushes (`apns`) and Google Wallet updates (`google`)
-- become rows of the outbox, one per device or Google object and change (forgotten once
-- sent; kept when they fail), beside the card links.
--
-- The delivery list and the per-channel summary read one channel's rows of a store (or
-- the card links'), instead of every row of the store.
DROP INDEX outbox_by_store;
CREATE INDEX outbox_by_store_channel ON outbox(store_id, channel, id);

-- The shop's own wording of the lock-screen notice a pass shows when its stamps change
-- ("{stamps} of {required} stamps"); NULL: stampd's ("You have 7 of 10 stamps").
ALTER TABLE cards ADD COLUMN stamp_message TEXT;
