import type { ShardedDatabase } from '@mela/sharding';
import type { ResultSetHeader } from 'mysql2';
import type { CartLine, ProductFacts } from '../domain/order.js';
import type { Reservation, StockLedger } from '../domain/ports.js';
import { toSqlTime } from './sql-values.js';

const commerce = { keyspace: 'commerce' } as const;

class SoldOut extends Error {
  constructor(readonly productId: string) {
    super(`product ${productId} has too few units`);
  }
}

/**
 * Stock in the commerce keyspace. A reservation is a conditional decrement per product
 * (`stock >= n`, so stock can never go below zero) plus a reservation row, in one
 * transaction: all of an order's lines or none.
 */
export class MysqlStockLedger implements StockLedger {
  readonly #db: ShardedDatabase;
  readonly #clock: () => Date;

  constructor(db: ShardedDatabase, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  async products(ids: readonly string[]): Promise<ReadonlyMap<string, ProductFacts>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#db.execute(
      commerce,
      'SELECT id, name, price_cents, currency FROM products WHERE id IN (?)',
      [ids],
    );
    return new Map(
      rows.map((r) => [
        String(r['id']),
        {
          id: String(r['id']),
          name: String(r['name']),
          priceCents: Number(r['price_cents']),
          currency: String(r['currency']),
        },
      ]),
    );
  }

  async reserve(
    reservation: Reservation & { readonly lines: readonly CartLine[]; readonly expiresAt: Date },
  ) {
    try {
      await this.#db.transaction(commerce, async (tx) => {
        // Lines arrive sorted by product id: every order locks rows in the same order.
        for (const line of reservation.lines) {
          const result = await tx.execute<ResultSetHeader>(
            'UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?',
            [line.quantity, line.productId, line.quantity],
          );
          if (result.affectedRows !== 1) throw new SoldOut(line.productId);
        }
        await tx.execute(
          `INSERT INTO stock_reservations
             (order_id, product_id, quantity, user_id, idem_key, expires_at) VALUES ?`,
          [
            reservation.lines.map((line) => [
              reservation.orderId,
              line.productId,
              line.quantity,
              reservation.userId,
              reservation.idempotencyKey,
              toSqlTime(reservation.expiresAt),
            ]),
          ],
        );
      });
      return { ok: true } as const;
    } catch (error) {
      if (error instanceof SoldOut) return { ok: false, soldOut: error.productId } as const;
      throw error;
    }
  }

  async release(orderId: string): Promise<readonly CartLine[]> {
    return this.#db.transaction(commerce, async (tx) => {
      const rows = await tx.execute(
        `SELECT product_id, quantity FROM stock_reservations
          WHERE order_id = ? ORDER BY product_id FOR UPDATE`,
        [orderId],
      );
      const lines = rows.map((r) => ({
        productId: String(r['product_id']),
        quantity: Number(r['quantity']),
      }));
      for (const line of lines) {
        await tx.execute('UPDATE products SET stock = stock + ? WHERE id = ?', [
          line.quantity,
          line.productId,
        ]);
      }
      if (lines.length > 0)
        await tx.execute('DELETE FROM stock_reservations WHERE order_id = ?', [orderId]);
      return lines;
    });
  }

  async consume(orderId: string): Promise<void> {
    await this.#db.execute(commerce, 'DELETE FROM stock_reservations WHERE order_id = ?', [
      orderId,
    ]);
  }

  async expired(limit: number): Promise<readonly Reservation[]> {
    const rows = await this.#db.execute(
      commerce,
      `SELECT order_id, MIN(user_id) AS user_id, MIN(idem_key) AS idem_key
         FROM stock_reservations WHERE expires_at < ?
        GROUP BY order_id ORDER BY MIN(expires_at) LIMIT ?`,
      [toSqlTime(this.#clock()), limit],
    );
    return rows.map((r) => ({
      orderId: String(r['order_id']),
      userId: String(r['user_id']),
      idempotencyKey: String(r['idem_key']),
    }));
  }

  async stockOf(productId: string): Promise<number | undefined> {
    const rows = await this.#db.execute(commerce, 'SELECT stock FROM products WHERE id = ?', [
      productId,
    ]);
    const row = rows[0];
    return row ? Number(row['stock']) : undefined;
  }
}
