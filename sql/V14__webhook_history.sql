-- The delivery history of a subscription is kept within limits (`webhook_history_days`,
-- `webhook_history_per_subscription`): the sweep that removes the tries beyond them also
-- removes the events no remaining try refers to, which it finds through this index.
CREATE INDEX webhook_deliveries_by_outbox ON webhook_deliveries(outbox_id)
    WHERE outbox_id IS NOT NULL;

-- The webhook sender's look at its queue: the due events in order with the line each is
-- in, read from the index alone (the channel and status ride along so that no row of
-- the table is read for them), however long the backlog.
CREATE INDEX outbox_webhooks_due ON outbox(next_attempt_at, address, customer_id, channel, status)
    WHERE channel = 'webhook' AND status = 'pending';
