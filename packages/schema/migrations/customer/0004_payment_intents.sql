-- A payment intent is written on the buyer's shard before the provider is asked to charge, so
-- no charge can be forgotten: the order's transaction marks it `captured`; a failed attempt,
-- or the sweeper once the attempt is abandoned (its idempotency claim gone), refunds by the
-- order id (providers refund idempotently by reference) and marks it `voided`.
CREATE TABLE payment_intents (
  order_id BIGINT UNSIGNED NOT NULL,
  user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  idem_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  amount_cents BIGINT UNSIGNED NOT NULL,
  currency CHAR(3) NOT NULL,
  state ENUM('pending', 'captured', 'voided') NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (order_id),
  KEY unsettled (state, created_at)
) ENGINE=InnoDB;
