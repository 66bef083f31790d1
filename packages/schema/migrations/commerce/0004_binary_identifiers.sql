-- A reservation's owner and Idempotency-Key compare byte for byte, like the customer
-- keyspace's (see customer/0003_binary_identifiers.sql).
ALTER TABLE stock_reservations
  MODIFY user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  MODIFY idem_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
