import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '@mela/core';
import { toSqlTime, type ShardedDatabase } from '@mela/sharding';
import type { ResultSetHeader } from 'mysql2';
import { PaymentDeclinedError } from '../domain/errors.js';
import type { Payment, PaymentProvider } from '../domain/ports.js';

const commerce = { keyspace: 'commerce' } as const;

/**
 * The default payment provider: no money moves, but it keeps a ledger as a real provider does
 * (`sandbox_payments` in the commerce keyspace), so charges are idempotent on their reference
 * across replicas and restarts, and anyone can check that charges and refunds balance.
 *
 * A charge is declined with probability `failureRate` (nothing recorded); otherwise it is
 * recorded at once and answered after `latencyMs` (±20 %) — the window in which a crashed or
 * cut-off caller has charged without knowing it, which the order's payment intent covers.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  readonly #db: ShardedDatabase;
  readonly #latencyMs: number;
  readonly #failureRate: number;
  readonly #random: () => number;
  readonly #clock: Clock;

  constructor(options: {
    readonly db: ShardedDatabase;
    readonly latencyMs: number;
    readonly failureRate: number;
    readonly clock: Clock;
    readonly random?: () => number;
  }) {
    this.#db = options.db;
    this.#latencyMs = options.latencyMs;
    this.#failureRate = options.failureRate;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
  }

  async charge(request: {
    readonly reference: string;
    readonly amountCents: number;
    readonly currency: string;
  }): Promise<Payment> {
    const answer = () =>
      this.#latencyMs > 0
        ? delay(this.#latencyMs * (0.8 + 0.4 * this.#random()))
        : Promise.resolve();
    if (this.#random() < this.#failureRate) {
      await answer();
      throw new PaymentDeclinedError('declined by the sandbox');
    }
    const now = toSqlTime(this.#clock());
    const paymentId = `pay_sbx_${randomBytes(9).toString('base64url')}`;
    const inserted = await this.#db.execute<ResultSetHeader>(
      commerce,
      `INSERT IGNORE INTO sandbox_payments
         (reference, payment_id, amount_cents, currency, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'charged', ?, ?)`,
      [request.reference, paymentId, request.amountCents, request.currency, now, now],
    );
    // A repeated reference answers with the charge it made before (idempotent), if it stands.
    const charge: Record<string, unknown> | undefined =
      inserted.affectedRows === 1
        ? { payment_id: paymentId, state: 'charged' }
        : (
            await this.#db.execute(
              commerce,
              'SELECT payment_id, state FROM sandbox_payments WHERE reference = ?',
              [request.reference],
            )
          )[0];
    await answer();
    if (charge?.['state'] !== 'charged')
      throw new PaymentDeclinedError(`reference ${request.reference} was refunded already`);
    return { id: String(charge['payment_id']) };
  }

  async refund(reference: string): Promise<void> {
    await this.#db.execute<ResultSetHeader>(
      commerce,
      `UPDATE sandbox_payments SET state = 'refunded', updated_at = ?
        WHERE reference = ? AND state = 'charged'`,
      [toSqlTime(this.#clock()), reference],
    );
  }
}
