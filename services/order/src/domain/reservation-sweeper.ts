import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '@mela/core';
import type { OrderStore, PaymentProvider, StockGate, StockLedger } from './ports.js';

export interface SweeperPolicy {
  /** A reservation (and a payment intent) not settled within this long is the sweeper's. */
  readonly reservationTtlMs: number;
  /** Completed idempotency keys are kept this long. */
  readonly idempotencyRetentionMs: number;
  /** Keys are purged at most this often (each purge visits every customer shard). */
  readonly purgeEveryMs: number;
}

export interface SweepResult {
  readonly released: number;
  readonly consumed: number;
  readonly refunded: number;
  readonly purgedKeys: number;
}

export interface SweeperDeps {
  readonly orders: OrderStore;
  readonly stock: StockLedger;
  readonly gate: StockGate;
  readonly payments: PaymentProvider;
  readonly policy: SweeperPolicy;
  readonly clock: Clock;
  /** What one item could not settle (its shard down, say); the next round retries it. */
  readonly onError: (error: unknown, message: string) => void;
}

/**
 * Settles what checkouts that died left behind: reservations past their expiry go back to
 * stock (or, when their order did commit, stay sold), payment intents whose attempt died are
 * refunded, and old idempotency keys are forgotten. Safe to run on every replica at once: the
 * claim is the fence (`OrderStore.settle`).
 */
export class ReservationSweeper {
  readonly #deps: SweeperDeps;
  #purgedAt = Number.NEGATIVE_INFINITY;
  #loop: Promise<void> | undefined;
  #stop: AbortController | undefined;

  constructor(deps: SweeperDeps) {
    this.#deps = deps;
  }

  /** Sweeps every `intervalMs` until {@link stop}; a round never overlaps the next. */
  start(intervalMs: number, onRound?: (result: SweepResult) => void): void {
    if (this.#loop) return;
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      for (;;) {
        const stopped = await delay(intervalMs, false, { signal: stop.signal }).catch(() => true);
        if (stopped) return;
        try {
          onRound?.(await this.sweep());
        } catch (error) {
          this.#deps.onError(error, 'reservation sweep failed; next round retries');
        }
      }
    })();
  }

  /** Stops after the round in flight. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  /** One round (the loop's, or a test's). */
  async sweep(limit = 100): Promise<SweepResult> {
    const { orders, stock, gate, payments, policy } = this.#deps;
    let released = 0;
    let consumed = 0;
    let refunded = 0;
    for (const reservation of await stock.expired(limit)) {
      try {
        if ((await orders.settle(reservation)) === 'committed') {
          await stock.consume(reservation.orderId);
          consumed++;
        } else {
          const lines = await stock.release(reservation.orderId);
          await gate.giveBack(lines);
          if (lines.length > 0) released++;
        }
      } catch (error) {
        // Its user's shard may be down: the others are not held up; the next round retries.
        this.#deps.onError(error, `reservation of order ${reservation.orderId} not settled yet`);
      }
    }
    // Charges whose attempt died (crash, lost shard) before the order's commit or the undo:
    // fence the claim, then refund by reference and mark the intent voided.
    const now = this.#deps.clock().getTime();
    for (const intent of await orders.pendingIntents(
      new Date(now - policy.reservationTtlMs),
      limit,
    )) {
      try {
        if ((await orders.settle(intent)) === 'committed') continue;
        await payments.refund(intent.orderId);
        await orders.voidIntent(intent.userId, intent.orderId);
        refunded++;
      } catch (error) {
        this.#deps.onError(error, `payment of order ${intent.orderId} not reconciled yet`);
      }
    }
    let purgedKeys = 0;
    if (now - this.#purgedAt >= policy.purgeEveryMs) {
      this.#purgedAt = now;
      purgedKeys = await orders.purgeIdempotencyKeys(new Date(now - policy.idempotencyRetentionMs));
    }
    return { released, consumed, refunded, purgedKeys };
  }
}
