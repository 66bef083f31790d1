-- An outbox row Kafka refuses for good (too large, an invalid record or topic) is parked
-- instead of blocking every row behind it on its shard: it keeps its data, leaves the relay's
-- queue, and is counted (outbox_parked_events) so an operator can act on it.
ALTER TABLE outbox
  ADD COLUMN parked_at DATETIME(3) NULL,
  ADD COLUMN park_reason VARCHAR(500) NULL,
  DROP KEY pending,
  ADD KEY pending (published_at, parked_at, id);
