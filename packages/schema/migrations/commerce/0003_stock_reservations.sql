-- Units taken from products.stock for an order that is not committed yet. A reservation is
-- consumed when its order commits and released (units back to stock) when payment fails or
-- it expires; the sweeper decides which by the order's idempotency claim.
CREATE TABLE stock_reservations (
  order_id BIGINT UNSIGNED NOT NULL,
  product_id BIGINT UNSIGNED NOT NULL,
  quantity INT UNSIGNED NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  idem_key VARCHAR(255) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  PRIMARY KEY (order_id, product_id),
  KEY by_expiry (expires_at)
) ENGINE=InnoDB;
