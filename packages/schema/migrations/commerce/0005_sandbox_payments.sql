-- The sandbox payment provider's own ledger (no money moves): one row per charge reference
-- (the order id), so charges stay idempotent across replicas and restarts and a test or an
-- operator can check that every charge was either captured by an order or refunded.
CREATE TABLE sandbox_payments (
  reference BIGINT UNSIGNED NOT NULL,
  payment_id VARCHAR(64) NOT NULL,
  amount_cents BIGINT UNSIGNED NOT NULL,
  currency CHAR(3) NOT NULL,
  state ENUM('charged', 'refunded') NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (reference)
) ENGINE=InnoDB;
