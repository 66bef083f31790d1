import type { Clock } from '@mela/core';
import { affectedRows, rowsOf, toSqlTime, type ShardedDatabase } from '@mela/sharding';
import { Coalescer } from './coalescer.js';

const commerce = { keyspace: 'commerce' } as const;

/** Units of one product. */
export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A reservation held for an order that is not committed yet, and whose claim decides it. */
export interface StockReservation {
  readonly orderId: string;
  readonly userId: string;
  readonly idempotencyKey: string;
}

/** The outcome of a restock or write-off. */
export type StockAdjustment =
  | { readonly ok: true; readonly stock: number }
  | { readonly ok: false; readonly reason: 'not_found' | 'insufficient'; readonly stock?: number };

class SoldOut extends Error {
  constructor(readonly productId: string) {
    super(`product ${productId} has too few units`);
  }
}

/**
 * The one writer of `products.stock` (commerce keyspace), the units that can still be sold.
 * Every change is relative and conditional — reserve (−n, only while `stock >= n`), release
 * (+n of a reservation that still exists), adjust (restock +n, write-off −n, never below
 * zero) — so concurrent writers compose instead of overwriting each other, and a restock
 * while reservations are open never lets their release sell more than exists.
 *
 * After each change that committed, `onChange` hears the products whose stock moved (the
 * services announce them on the `STOCK_CHANGES_CHANNEL`, see {@link announceStockChanges}, so caches drop what they hold).
 */
export class StockLedger {
  readonly #db: ShardedDatabase;
  readonly #clock: Clock;
  readonly #onChange: (productIds: readonly string[]) => void;
  readonly #consumed: Coalescer<string>;

  constructor(options: {
    readonly db: ShardedDatabase;
    readonly clock: Clock;
    /** Told after a commit; must not throw (a lost notice only delays a cache's refresh). */
    readonly onChange?: (productIds: readonly string[]) => void;
  }) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#onChange = options.onChange ?? (() => undefined);
    this.#consumed = new Coalescer((orderIds) =>
      this.#db.execute(commerce, 'DELETE FROM stock_reservations WHERE order_id IN (?)', [
        orderIds,
      ]),
    );
  }

  /**
   * Takes every line's units, or none of them: `{ soldOut }` names the first product without
   * enough units. The reservation expires at `expiresAt` unless consumed or released first.
   */
  async reserve(
    reservation: StockReservation & {
      readonly lines: readonly StockLine[];
      readonly expiresAt: Date;
    },
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly soldOut: string }> {
    const { lines } = reservation;
    try {
      await this.#db.transaction(commerce, async (tx) => {
        // One round trip: every line's conditional update and the reservation rows; a line
        // that found too few units rolls it all back. Lines arrive sorted by product id, so
        // every order locks rows in the same order.
        const results = await tx.batch([
          ...lines.map((line) => ({
            sql: 'UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?',
            params: [line.quantity, line.productId, line.quantity],
          })),
          {
            sql: `INSERT INTO stock_reservations
                    (order_id, product_id, quantity, user_id, idem_key, expires_at) VALUES ?`,
            params: [
              lines.map((line) => [
                reservation.orderId,
                line.productId,
                line.quantity,
                reservation.userId,
                reservation.idempotencyKey,
                toSqlTime(reservation.expiresAt),
              ]),
            ],
          },
        ]);
        const short = lines.find((_, i) => affectedRows(results[i]) !== 1);
        if (short) throw new SoldOut(short.productId);
      });
    } catch (error) {
      if (error instanceof SoldOut) return { ok: false, soldOut: error.productId };
      throw error;
    }
    this.#onChange(reservation.lines.map((line) => line.productId));
    return { ok: true };
  }

  /** Gives a reservation's units back; returns the lines released (none if already gone). */
  async release(orderId: string): Promise<readonly StockLine[]> {
    const lines = await this.#db.transaction(commerce, async (tx) => {
      const rows = await tx.execute(
        `SELECT product_id, quantity FROM stock_reservations
          WHERE order_id = ? ORDER BY product_id FOR UPDATE`,
        [orderId],
      );
      const held = rows.map((r) => ({
        productId: String(r['product_id']),
        quantity: Number(r['quantity']),
      }));
      if (held.length > 0)
        await tx.batch([
          ...held.map((line) => ({
            sql: 'UPDATE products SET stock = stock + ? WHERE id = ?',
            params: [line.quantity, line.productId],
          })),
          { sql: 'DELETE FROM stock_reservations WHERE order_id = ?', params: [orderId] },
        ]);
      return held;
    });
    if (lines.length > 0) this.#onChange(lines.map((line) => line.productId));
    return lines;
  }

  /**
   * The order committed: the reservation's units stay sold (stock does not move). Orders that
   * commit while one DELETE is on its way go together in the next.
   */
  consume(orderId: string): Promise<void> {
    return this.#consumed.add(orderId);
  }

  /**
   * Restock (`delta > 0`) or write off (`delta < 0`) units; a write-off larger than the units
   * left is refused rather than clamped.
   */
  async adjust(productId: string, delta: number): Promise<StockAdjustment> {
    if (!Number.isSafeInteger(delta) || delta === 0)
      throw new RangeError(`a stock adjustment is a whole number other than 0, got ${delta}`);
    const result = await this.#db.transaction(commerce, async (tx) => {
      // `stock` is UNSIGNED: a write-off compares first instead of computing below zero.
      const [changed, rows] = await tx.batch([
        delta > 0
          ? {
              sql: 'UPDATE products SET stock = stock + ? WHERE id = ?',
              params: [delta, productId],
            }
          : {
              sql: 'UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?',
              params: [-delta, productId, -delta],
            },
        { sql: 'SELECT stock FROM products WHERE id = ?', params: [productId] },
      ]);
      const row = rowsOf(rows)[0];
      if (!row) return { ok: false, reason: 'not_found' } as const;
      const stock = Number(row['stock']);
      return affectedRows(changed) === 1
        ? ({ ok: true, stock } as const)
        : ({ ok: false, reason: 'insufficient', stock } as const);
    });
    if (result.ok) this.#onChange([productId]);
    return result;
  }

  /** Reservations past their expiry, oldest first. */
  async expired(limit: number): Promise<readonly StockReservation[]> {
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

  /** Units that can be sold now. */
  async stockOf(productId: string): Promise<number | undefined> {
    const rows = await this.#db.execute(commerce, 'SELECT stock FROM products WHERE id = ?', [
      productId,
    ]);
    const row = rows[0];
    return row ? Number(row['stock']) : undefined;
  }
}
