-- Orders live on the shard of their owner (xxhash(user_id)); an order, its items, its outbox
-- row and its idempotency record are written in one transaction on that shard.
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  total_cents BIGINT UNSIGNED NOT NULL,
  currency CHAR(3) NOT NULL,
  payment_id VARCHAR(64) NOT NULL,
  payment_method VARCHAR(32) NOT NULL,
  shipping_address JSON NOT NULL,
  contact JSON NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY by_user (user_id, id)
) ENGINE=InnoDB;

CREATE TABLE order_items (
  order_id BIGINT UNSIGNED NOT NULL,
  product_id BIGINT UNSIGNED NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  name VARCHAR(200) NOT NULL,
  quantity INT UNSIGNED NOT NULL,
  unit_price_cents INT UNSIGNED NOT NULL,
  PRIMARY KEY (order_id, product_id)
) ENGINE=InnoDB;

-- The transactional outbox: events committed with the change they describe, published to
-- Kafka by the relay (in id order per shard, so a user's events keep their order).
CREATE TABLE outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  event_id CHAR(36) NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  topic VARCHAR(128) NOT NULL,
  event_key VARCHAR(128) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  payload JSON NOT NULL,
  created_at DATETIME(3) NOT NULL,
  published_at DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY event_id (event_id),
  KEY pending (published_at, id)
) ENGINE=InnoDB;

-- One row per (user, Idempotency-Key): claimed when a request starts, completed in the
-- order's transaction with the response to replay. The claim is also the fence the
-- reservation sweeper takes: an order commits only while its claim is still `started`.
CREATE TABLE idempotency_keys (
  user_id VARCHAR(64) NOT NULL,
  idem_key VARCHAR(255) NOT NULL,
  request_hash CHAR(64) NOT NULL,
  order_id BIGINT UNSIGNED NOT NULL,
  state ENUM('started', 'completed') NOT NULL,
  response_status SMALLINT UNSIGNED NULL,
  response_body JSON NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, idem_key),
  KEY by_age (created_at)
) ENGINE=InnoDB;

-- What the notification service has done per event and channel, so a redelivered event
-- has no second effect.
CREATE TABLE processed_events (
  event_id CHAR(36) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  state ENUM('claimed', 'done') NOT NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (event_id, channel)
) ENGINE=InnoDB;
