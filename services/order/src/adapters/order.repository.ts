import { currentTraceparent, type Clock } from '@mela/core';
import type { OrderPlacedEvent } from '@mela/messaging';
import {
  affectedRows,
  InvalidShardKeyError,
  fromSqlTime,
  toSqlTime,
  type Row,
  type ShardedDatabase,
} from '@mela/sharding';
import type { ResultSetHeader } from 'mysql2';
import type { Order, OrderItem, PaymentMethod } from '../domain/order.js';
import type { IdempotencyRecord, OrderStore, PaymentIntent, Reservation } from '../domain/ports.js';
import { jsonColumn } from './sql-values.js';

/** The claim an order's commit completes was taken by the sweeper in the meantime. */
class ClaimLost extends Error {}

const byUser = (table: string, userId: string) =>
  ({ keyspace: 'customer', table, key: userId }) as const;

/**
 * Orders on their owner's shard of the customer keyspace (xxhash(user_id)). `GET` by id goes
 * through the `order_lookup` vindex to that one shard; a user's list never leaves it.
 */
export class OrderRepository implements OrderStore {
  readonly #db: ShardedDatabase;
  readonly #clock: Clock;
  readonly #topic: string;

  constructor(db: ShardedDatabase, clock: Clock, topic: string) {
    this.#db = db;
    this.#clock = clock;
    this.#topic = topic;
  }

  nextOrderId(): Promise<string> {
    return this.#db.autoIncrement('customer', 'orders').next();
  }

  async claim(userId: string, key: string, requestHash: string, orderId: string) {
    for (;;) {
      const inserted = await this.#db.execute<ResultSetHeader>(
        byUser('idempotency_keys', userId),
        `INSERT IGNORE INTO idempotency_keys
           (user_id, idem_key, request_hash, order_id, state, created_at)
         VALUES (?, ?, ?, ?, 'started', ?)`,
        [userId, key, requestHash, orderId, toSqlTime(this.#clock())],
      );
      if (inserted.affectedRows === 1) return { claimed: true } as const;
      const existing = await this.record(userId, key);
      // Gone between the two statements (its request failed): claim it again.
      if (existing) return { claimed: false, existing } as const;
    }
  }

  async record(userId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const rows = await this.#db.execute(
      byUser('idempotency_keys', userId),
      `SELECT request_hash, order_id, state, created_at
         FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`,
      [userId, key],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      requestHash: String(row['request_hash']),
      orderId: String(row['order_id']),
      state: row['state'] === 'completed' ? 'completed' : 'started',
      startedAt: new Date(fromSqlTime(String(row['created_at']))),
    };
  }

  async releaseClaim(userId: string, key: string, orderId: string): Promise<boolean> {
    const deleted = await this.#db.execute<ResultSetHeader>(
      byUser('idempotency_keys', userId),
      `DELETE FROM idempotency_keys
        WHERE user_id = ? AND idem_key = ? AND order_id = ? AND state = 'started'`,
      [userId, key, orderId],
    );
    return deleted.affectedRows === 1;
  }

  async commit(order: Order, key: string, event: OrderPlacedEvent): Promise<boolean> {
    try {
      return await this.#db.transaction(byUser('orders', order.userId), async (tx) => {
        // One round trip for the whole order; the router sends the order_lookup entry the
        // order row owns beside it, committed first, as vtgate does.
        const [completed] = await tx.batch([
          {
            sql: `UPDATE idempotency_keys SET state = 'completed'
                   WHERE user_id = ? AND idem_key = ? AND order_id = ? AND state = 'started'`,
            params: [order.userId, key, order.id],
            check: { table: 'idempotency_keys', key: order.userId },
          },
          {
            sql: `UPDATE payment_intents SET state = 'captured', updated_at = ?
                   WHERE order_id = ? AND state = 'pending'`,
            params: [toSqlTime(this.#clock()), order.id],
            check: { table: 'payment_intents', key: order.userId },
          },
          {
            insert: 'orders',
            row: {
              id: order.id,
              user_id: order.userId,
              status: order.status,
              total_cents: order.totalCents,
              currency: order.currency,
              payment_id: order.paymentId,
              payment_method: order.paymentMethod,
              shipping_address: JSON.stringify(order.shippingAddress),
              contact: JSON.stringify(order.contact),
              created_at: toSqlTime(new Date(order.createdAt)),
            },
          },
          {
            sql: `INSERT INTO order_items
                    (order_id, product_id, user_id, name, quantity, unit_price_cents) VALUES ?`,
            params: [
              order.items.map((i) => [
                order.id,
                i.productId,
                order.userId,
                i.name,
                i.quantity,
                i.unitPriceCents,
              ]),
            ],
          },
          {
            sql: `INSERT INTO outbox
                    (event_id, user_id, topic, event_key, event_type, payload, created_at,
                     traceparent)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            params: [
              event.eventId,
              order.userId,
              this.#topic,
              order.userId,
              event.type,
              JSON.stringify(event),
              toSqlTime(new Date(event.occurredAt)),
              // The checkout's trace, which the event's consumers continue.
              currentTraceparent() ?? null,
            ],
          },
        ]);
        // The claim is no longer this attempt's (the sweeper took it): roll everything back.
        if (affectedRows(completed) !== 1) throw new ClaimLost();
        return true;
      });
    } catch (error) {
      if (error instanceof ClaimLost) return false;
      throw error;
    }
  }

  async settle(reservation: Reservation): Promise<'committed' | 'abandoned'> {
    const { userId, idempotencyKey, orderId } = reservation;
    return this.#db.transaction(byUser('idempotency_keys', userId), async (tx) => {
      const rows = await tx.execute(
        `SELECT state, order_id FROM idempotency_keys
          WHERE user_id = ? AND idem_key = ? FOR UPDATE`,
        [userId, idempotencyKey],
      );
      const row = rows[0];
      if (row && String(row['order_id']) === orderId) {
        if (row['state'] === 'completed') return 'committed';
        await tx.execute('DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ?', [
          userId,
          idempotencyKey,
        ]);
      }
      return 'abandoned';
    });
  }

  async recordIntent(intent: PaymentIntent): Promise<void> {
    const now = toSqlTime(this.#clock());
    await this.#db.execute(
      byUser('payment_intents', intent.userId),
      `INSERT INTO payment_intents
         (order_id, user_id, idem_key, amount_cents, currency, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
      [
        intent.orderId,
        intent.userId,
        intent.idempotencyKey,
        intent.amountCents,
        intent.currency,
        now,
        now,
      ],
    );
  }

  async voidIntent(userId: string, orderId: string): Promise<void> {
    await this.#db.execute(
      byUser('payment_intents', userId),
      `UPDATE payment_intents SET state = 'voided', updated_at = ?
        WHERE order_id = ? AND user_id = ? AND state = 'pending'`,
      [toSqlTime(this.#clock()), orderId, userId],
    );
  }

  async pendingIntents(olderThan: Date, limit: number): Promise<readonly Reservation[]> {
    // A shard that is down now is swept next round; the others are not held up by it.
    const perShard = await Promise.allSettled(
      this.#db.shardNames('customer').map((shard) =>
        this.#db.session('customer', shard, (s) =>
          s.execute(
            `SELECT order_id, user_id, idem_key FROM payment_intents
              WHERE state = 'pending' AND created_at < ? ORDER BY created_at LIMIT ?`,
            [toSqlTime(olderThan), limit],
          ),
        ),
      ),
    );
    const rows = perShard.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
    return rows.map((row) => ({
      orderId: String(row['order_id']),
      userId: String(row['user_id']),
      idempotencyKey: String(row['idem_key']),
    }));
  }

  async get(userId: string, orderId: string): Promise<Order | undefined> {
    const rows = await this.#db
      .execute(
        { keyspace: 'customer', table: 'orders', key: orderId, column: 'id' },
        `SELECT ${orderColumns} FROM orders o JOIN order_items i ON i.order_id = o.id
          WHERE o.id = ? AND o.user_id = ? ORDER BY i.product_id`,
        [orderId, userId],
      )
      .catch((error: unknown) => {
        // An id no shard can hold (beyond 64 bits) names no order: the same 404 as any other.
        if (error instanceof InvalidShardKeyError) return [];
        throw error;
      });
    return toOrders(rows)[0];
  }

  async list(userId: string, options: { readonly limit: number; readonly before?: string }) {
    // One round trip: the page of ids (a derived table may have a LIMIT), then its items.
    const rows = await this.#db.execute(
      byUser('orders', userId),
      `SELECT ${orderColumns}
         FROM (SELECT id FROM orders WHERE user_id = ? ${options.before ? 'AND id < ?' : ''}
                ORDER BY id DESC LIMIT ?) page
         JOIN orders o ON o.id = page.id
         JOIN order_items i ON i.order_id = o.id
        ORDER BY o.id DESC, i.product_id`,
      options.before ? [userId, options.before, options.limit] : [userId, options.limit],
    );
    return toOrders(rows);
  }

  /** Forgets completed idempotency keys older than `olderThan` on every shard; returns how many. */
  async purgeIdempotencyKeys(olderThan: Date, limit = 5000): Promise<number> {
    const results = await Promise.all(
      this.#db
        .shardNames('customer')
        .map((shard) =>
          this.#db.session('customer', shard, (s) =>
            s.execute<ResultSetHeader>(
              "DELETE FROM idempotency_keys WHERE created_at < ? AND state = 'completed' LIMIT ?",
              [toSqlTime(olderThan), limit],
            ),
          ),
        ),
    );
    return results.reduce((sum, r) => sum + r.affectedRows, 0);
  }
}

const orderColumns = `
  o.id, o.user_id, o.status, o.total_cents, o.currency, o.payment_id, o.payment_method,
  o.shipping_address, o.contact, o.created_at,
  i.product_id, i.name, i.quantity, i.unit_price_cents`;

function toOrders(rows: readonly Row[]): Order[] {
  const orders = new Map<string, { order: Omit<Order, 'items'>; items: OrderItem[] }>();
  for (const row of rows) {
    const id = String(row['id']);
    let entry = orders.get(id);
    if (!entry) {
      entry = {
        order: {
          id,
          userId: String(row['user_id']),
          status: String(row['status']) as Order['status'],
          totalCents: Number(row['total_cents']),
          currency: String(row['currency']),
          paymentId: String(row['payment_id']),
          paymentMethod: String(row['payment_method']) as PaymentMethod,
          shippingAddress: jsonColumn(row['shipping_address']) as Order['shippingAddress'],
          contact: jsonColumn(row['contact']) as Order['contact'],
          createdAt: fromSqlTime(String(row['created_at'])),
        },
        items: [],
      };
      orders.set(id, entry);
    }
    const quantity = Number(row['quantity']);
    const unitPriceCents = Number(row['unit_price_cents']);
    entry.items.push({
      productId: String(row['product_id']),
      name: String(row['name']),
      quantity,
      unitPriceCents,
      lineTotalCents: quantity * unitPriceCents,
    });
  }
  return [...orders.values()].map(({ order, items }) => ({ ...order, items }));
}
