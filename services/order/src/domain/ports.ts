import type { CartLine, Order, PaymentMethod, ProductFacts } from './order.js';
import type { OrderPlacedEvent } from '@mela/messaging';

/**
 * The cart of the user placing the order, bound to that caller before the domain sees it
 * (the adapter holds the caller's own credentials): it cannot read anyone else's.
 */
export interface CallerCart {
  lines(): Promise<readonly CartLine[]>;
  clear(): Promise<void>;
}

/** What an idempotency record says about an earlier request with the same key. */
export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly orderId: string;
  readonly state: 'started' | 'completed';
  readonly startedAt: Date;
}

/** A reservation held in commerce for an order that is not committed yet. */
export interface Reservation {
  readonly orderId: string;
  readonly userId: string;
  readonly idempotencyKey: string;
}

/** The authoritative stock (commerce keyspace): reservations are conditional updates there. */
export interface StockLedger {
  products(ids: readonly string[]): Promise<ReadonlyMap<string, ProductFacts>>;
  /**
   * Takes every line's units from stock, or none of them: `{ soldOut }` names the first
   * product without enough units. The reservation expires at `expiresAt` unless consumed.
   */
  reserve(
    reservation: Reservation & { readonly lines: readonly CartLine[]; readonly expiresAt: Date },
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly soldOut: string }>;
  /** Gives a reservation's units back to stock; returns the lines released (none if already gone). */
  release(orderId: string): Promise<readonly CartLine[]>;
  /** The order committed: the reservation's units stay sold. */
  consume(orderId: string): Promise<void>;
  /** Reservations past their expiry, oldest first. */
  expired(limit: number): Promise<readonly Reservation[]>;
  /** Units in stock now, for the gate to start from. */
  stockOf(productId: string): Promise<number | undefined>;
}

/** One checkout attempt: whose, under which Idempotency-Key. */
export interface Attempt {
  readonly userId: string;
  readonly key: string;
}

/**
 * A fast admission gate in front of the ledger (Redis counters), so ten thousand buyers for
 * a hundred phones do not queue on one MySQL row. It may be wrong in either direction for a
 * moment; the ledger decides. `unavailable` means: ask the ledger directly.
 */
export interface StockGate {
  /**
   * Takes every line's units or none, and remembers an attempt that took them (as long as its
   * key is kept). `soldOut` names a line with too few, and says whether this attempt took
   * units before (then it may be a replay of a placed order); `unknown` names a product the
   * ledger does not have; `unavailable` when the gate cannot answer (the ledger decides).
   */
  take(
    lines: readonly CartLine[],
    attempt: Attempt,
  ): Promise<
    | 'ok'
    | 'unavailable'
    | { readonly soldOut: string; readonly tookBefore: boolean }
    | { readonly unknown: string }
  >;
  giveBack(lines: readonly CartLine[]): Promise<void>;
  /** The ledger disagreed: drop these counters so the next request reads the ledger again. */
  forget(productIds: readonly string[]): Promise<void>;
}

export interface Payment {
  readonly id: string;
}

/**
 * A payment provider. `charge` is idempotent on `reference` (the order id); `refund` gives back
 * whatever was charged under a reference (nothing if nothing was), also idempotently, so it
 * works even when the charge's reply was lost.
 */
export interface PaymentProvider {
  charge(request: {
    readonly reference: string;
    readonly amountCents: number;
    readonly currency: string;
    readonly method: PaymentMethod;
  }): Promise<Payment>;
  refund(reference: string): Promise<void>;
}

/** A charge about to be asked for, recorded durably first (on the buyer's shard). */
export interface PaymentIntent {
  readonly orderId: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly amountCents: number;
  readonly currency: string;
}

/** Orders on the user's shard of the customer keyspace. */
export interface OrderStore {
  nextOrderId(): Promise<string>;
  /** Claims the key for this request, or returns what an earlier request with it left. */
  claim(
    userId: string,
    key: string,
    requestHash: string,
    orderId: string,
  ): Promise<
    { readonly claimed: true } | { readonly claimed: false; readonly existing: IdempotencyRecord }
  >;
  record(userId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Drops a claim still `started` for `orderId`; false when it was completed or taken. */
  releaseClaim(userId: string, key: string, orderId: string): Promise<boolean>;
  /**
   * In one transaction: the order, its items, the outbox event, and the claim completed (it
   * keeps the order's id, so a replay reads the order). Returns false (and writes nothing)
   * when the claim is no longer this order's.
   */
  commit(order: Order, key: string, event: OrderPlacedEvent): Promise<boolean>;
  /**
   * The sweeper's fence: decides an expired reservation's order. `committed` when the claim
   * completed with this order; otherwise the claim is removed so the order can never commit.
   */
  settle(reservation: Reservation): Promise<'committed' | 'abandoned'>;
  /** Records the intent to charge, before the provider is asked. */
  recordIntent(intent: PaymentIntent): Promise<void>;
  /** The attempt is over without an order and the charge (if any) was refunded. */
  voidIntent(userId: string, orderId: string): Promise<void>;
  /** Intents still pending from before `olderThan`, on every shard (for the sweeper). */
  pendingIntents(olderThan: Date, limit: number): Promise<readonly Reservation[]>;
  /** The order if it exists and `userId` owns it (the owner is part of the query). */
  get(userId: string, orderId: string): Promise<Order | undefined>;
  list(
    userId: string,
    options: { readonly limit: number; readonly before?: string },
  ): Promise<Order[]>;
  /** Forgets completed idempotency keys older than `olderThan` on every shard; returns how many. */
  purgeIdempotencyKeys(olderThan: Date): Promise<number>;
}
