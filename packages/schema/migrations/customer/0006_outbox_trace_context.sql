-- The trace an outbox event belongs to (W3C `traceparent`, 55 characters), written in the
-- order's transaction: the relay sends it on in the Kafka message's headers, so the consumer's
-- spans continue the checkout's trace. NULL when the checkout was not traced (sampled out, or
-- tracing off). A nullable column at the end: added in place, without copying the table.
ALTER TABLE outbox ADD COLUMN traceparent VARCHAR(64) NULL;
