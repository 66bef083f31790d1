-- The global order id sequence, in Vitess's sequence-table shape. Processes reserve ids in
-- blocks of `cache` (see @mela/sharding's Sequence).
CREATE TABLE order_seq (
  id INT UNSIGNED NOT NULL,
  next_id BIGINT UNSIGNED NOT NULL,
  cache BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB COMMENT 'vitess_sequence';

INSERT INTO order_seq (id, next_id, cache) VALUES (0, 1, 100);
