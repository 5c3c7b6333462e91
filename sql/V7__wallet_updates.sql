-- Live wallet cards: Apple Wallet pushes (`apns`) and Google Wallet updates (`google`)
-- become rows of the outbox, one per device or Google object and change, so a store's
-- outbox now holds far more rows of those channels than of card links.
--
-- The delivery list shows one channel, or the card-link channels, newest first: it
-- reads a store's rows by channel instead of scanning every row of the store.
DROP INDEX outbox_by_store;
CREATE INDEX outbox_by_store_channel ON outbox(store_id, channel, id);
-- A store's rows not sent yet (waiting or kept as failed), for the per-channel summary:
-- few, while sent rows pile up.
CREATE INDEX outbox_unsent ON outbox(store_id, channel, status, updated_at)
    WHERE status IN ('pending', 'failed');

-- The shop's own wording of the lock-screen notice a pass shows when its stamps change
-- ("{stamps} of {required} stamps"); NULL: stampd's ("You have 7 of 10 stamps").
ALTER TABLE cards ADD COLUMN stamp_message TEXT;
