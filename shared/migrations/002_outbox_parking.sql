-- Outbox rows that keep failing (unroutable, refused by the broker) are parked after a number of
-- attempts instead of being retried for ever, and fresh rows are always claimed before retries:
-- one index for each, so neither kind of row slows the other down.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
DROP INDEX outbox_pending;
CREATE INDEX outbox_fresh ON outbox (id) WHERE published_at IS NULL AND attempts = 0;
CREATE INDEX outbox_retry ON outbox (next_attempt_at) WHERE published_at IS NULL AND attempts > 0 AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (parked_at) WHERE parked_at IS NOT NULL;
