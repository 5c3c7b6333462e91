-- The delivery history of a subscription is kept within limits (`webhook_history_days`,
-- `webhook_history_per_subscription`): the sweep that removes the tries beyond them also
-- removes the events no remaining try refers to, which it finds through this index.
CREATE INDEX webhook_deliveries_by_outbox ON webhook_deliveries(outbox_id)
    WHERE outbox_id IS NOT NULL;
