-- The lookup_unique vindex `order_lookup`: order id -> keyspace id of the order's owner, so
-- GET /orders/:id reaches one shard. The table is itself sharded by hash(order_id).
CREATE TABLE order_lookup (
  order_id BIGINT UNSIGNED NOT NULL,
  keyspace_id VARBINARY(8) NOT NULL,
  PRIMARY KEY (order_id)
) ENGINE=InnoDB;
