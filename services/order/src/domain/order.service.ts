import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, DependencyUnavailableError, type Clock } from '@mela/core';
import type { OrderPlacedEvent } from '@mela/messaging';
import {
  CartEmptyError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  InvalidQuantityError,
  OrderNotFoundError,
  OrderRefusal,
  PaymentDeclinedError,
  SoldOutError,
  UnknownProductsError,
} from './errors.js';
import {
  priceLines,
  requestFingerprint,
  withDefaults,
  type CartLine,
  type Order,
  type PlaceOrderInput,
} from './order.js';
import type {
  CallerCart,
  IdempotencyRecord,
  OrderStore,
  PaymentProvider,
  StockGate,
  StockLedger,
} from './ports.js';

export interface OrderPolicy {
  /** A reservation not consumed within this long goes back to stock. */
  readonly reservationTtlMs: number;
  /** How long a retry waits for the first request with its key to finish. */
  readonly idempotencyWaitMs: number;
  /** Units of one product per order (the cart's own bound, checked again here). */
  readonly maxQuantity: number;
}

export interface PlacedOrder {
  readonly order: Order;
  /** True when the order was placed by an earlier request with the same key. */
  readonly replayed: boolean;
}

/** One checkout: who, with which Idempotency-Key, what they asked for and their cart. */
export interface PlaceOrderRequest {
  readonly userId: string;
  readonly key: string;
  readonly input: PlaceOrderInput;
  /** The caller's own cart (already bound to the caller). */
  readonly cart: CallerCart;
}

/** Counters the service reports; the adapter behind them is prom-client. */
export interface OrderMetrics {
  placed(): void;
  rejected(reason: string): void;
}

export interface OrderServiceDeps {
  readonly stock: StockLedger;
  readonly gate: StockGate;
  readonly payments: PaymentProvider;
  readonly orders: OrderStore;
  readonly metrics: OrderMetrics;
  readonly policy: OrderPolicy;
  readonly clock: Clock;
  /** Called after each commit (the relay publishes sooner). */
  readonly onCommitted: () => void;
  /** Failures the shopper does not see (undo deferred, cart not cleared). */
  readonly onError: (error: unknown, message: string) => void;
}

/**
 * Placing an order: one idempotency claim, the cart priced from commerce, stock reserved
 * (gate, then ledger), payment, then order + items + outbox + completed claim in one shard
 * transaction. Every failure before the commit gives back what it took.
 */
export class OrderService {
  readonly #deps: OrderServiceDeps;

  constructor(deps: OrderServiceDeps) {
    this.#deps = deps;
  }

  /** A checkout with an Idempotency-Key: the same key always answers with the same order. */
  async place(request: PlaceOrderRequest): Promise<PlacedOrder> {
    const { userId, key } = request;
    const hash = requestFingerprint(request.input);
    const deadline = this.#now() + this.#deps.policy.idempotencyWaitMs;
    let admission: Admission | undefined = await this.#admit(request);
    const giveBack = async () => {
      if (admission && 'admitted' in admission && admission.admitted === 'ok')
        await this.#deps.gate.giveBack(admission.lines);
      admission = undefined;
    };
    for (;;) {
      let orderId: string;
      let claim: Awaited<ReturnType<OrderStore['claim']>>;
      try {
        orderId = await this.#deps.orders.nextOrderId();
        claim = await this.#deps.orders.claim(userId, key, hash, orderId);
      } catch (error) {
        await giveBack();
        throw error;
      }
      if (claim.claimed) return this.#placeClaimed(request, orderId, admission);
      // Another request holds (or held) the key: what the gate gave this one goes back.
      await giveBack();
      const answer = await this.#awaitEarlier(userId, key, hash, claim.existing, deadline);
      if (answer) return answer;
      // The earlier request failed and gave its key back: this one is a fresh attempt.
    }
  }

  /**
   * The cart and the gate, before anything is written. In a sale most buyers are turned away
   * here, by one Redis call and no SQL: the gate has too few units and this attempt (user and
   * key) never took any, so it cannot be a replay of a placed order and nothing was recorded
   * for it — a retry with the same key is simply asked again. Everything else goes on to the
   * claim, which decides as it always has: a cart that cannot be read or is empty (perhaps a
   * replay after the order cleared it; once the key is claimed, the same error is the answer,
   * without reading the cart again), an attempt that took units before, an unknown product,
   * the gate away.
   */
  async #admit(request: PlaceOrderRequest): Promise<Admission> {
    let lines: readonly CartLine[];
    try {
      lines = await this.#cartLines(request.cart);
    } catch (cartError) {
      return { cartError };
    }
    const admitted = await this.#deps.gate.take(lines, request);
    if (typeof admitted === 'object' && 'soldOut' in admitted && !admitted.tookBefore) {
      this.#deps.metrics.rejected('sold_out');
      throw new SoldOutError(admitted.soldOut);
    }
    return { lines, admitted };
  }

  #now(): number {
    return this.#deps.clock().getTime();
  }

  async #awaitEarlier(
    userId: string,
    key: string,
    hash: string,
    first: IdempotencyRecord,
    deadline: number,
  ): Promise<PlacedOrder | undefined> {
    let record: IdempotencyRecord | undefined = first;
    for (let wait = 20; record; wait = Math.min(wait * 2, 250)) {
      if (record.requestHash !== hash) throw new IdempotencyConflictError();
      if (record.state === 'completed')
        return { order: await this.#placedOrder(userId, record.orderId), replayed: true };
      if (this.#now() - record.startedAt.getTime() > this.#deps.policy.reservationTtlMs) {
        // Its request died before reserving anything (or its reservation has expired): take over.
        await this.#deps.orders.releaseClaim(userId, key, record.orderId);
        return undefined;
      }
      if (this.#now() >= deadline) throw new IdempotencyInProgressError();
      await delay(wait);
      record = await this.#deps.orders.record(userId, key);
    }
    return undefined;
  }

  /** The order a completed claim names (committed in the same transaction as the claim). */
  async #placedOrder(userId: string, orderId: string): Promise<Order> {
    const order = await this.#deps.orders.get(userId, orderId);
    if (!order) throw new Error(`claim completed for order ${orderId}, which is not on its shard`);
    return order;
  }

  async #placeClaimed(
    request: PlaceOrderRequest,
    orderId: string,
    admission: Admission | undefined,
  ): Promise<PlacedOrder> {
    const { userId, key, input, cart } = request;
    const { orders, stock, gate, payments } = this.#deps;
    let reserved: readonly CartLine[] | undefined;
    let intended = false;
    try {
      if (admission && 'cartError' in admission) throw admission.cartError;
      const lines = admission?.lines ?? (await this.#cartLines(cart));
      // The gate before any product read (usually asked in #admit already). What it took
      // goes back if the order cannot be priced.
      const admitted = admission?.admitted ?? (await gate.take(lines, request));
      if (typeof admitted === 'object') {
        if ('unknown' in admitted) throw new UnknownProductsError([admitted.unknown]);
        throw new SoldOutError(admitted.soldOut);
      }
      const priced = await stock
        .products(lines.map((l) => l.productId))
        .then((products) => priceLines(lines, products))
        .catch(async (error: unknown) => {
          if (admitted === 'ok') await gate.giveBack(lines);
          throw error;
        });
      const outcome = await stock
        .reserve({
          orderId,
          userId,
          idempotencyKey: key,
          lines,
          expiresAt: new Date(this.#now() + this.#deps.policy.reservationTtlMs),
        })
        .catch(async (error: unknown) => {
          if (admitted === 'ok') await gate.giveBack(lines);
          throw error;
        });
      if (!outcome.ok) {
        if (admitted === 'ok') await gate.forget(lines.map((l) => l.productId));
        throw new SoldOutError(outcome.soldOut);
      }
      reserved = lines;

      // Durable before the provider is asked: whatever happens next (a crash, the shard gone),
      // this charge is either captured by the order's commit or refunded by an undo or the sweeper.
      await orders.recordIntent({
        orderId,
        userId,
        idempotencyKey: key,
        amountCents: priced.totalCents,
        currency: priced.currency,
      });
      intended = true;
      let payment: { id: string };
      try {
        payment = await payments.charge({
          reference: orderId,
          amountCents: priced.totalCents,
          currency: priced.currency,
          method: input.paymentMethod,
        });
      } catch (error) {
        if (error instanceof PaymentDeclinedError) throw error;
        throw new DependencyUnavailableError('payment', error);
      }

      const order: Order = {
        id: orderId,
        userId,
        status: 'confirmed',
        ...priced,
        ...withDefaults(userId, input),
        paymentId: payment.id,
        createdAt: this.#deps.clock().toISOString(),
      };
      const committed = await orders.commit(order, key, placedEvent(order, this.#deps.clock()));
      if (!committed) {
        // The sweeper judged this order abandoned and has given its stock back already.
        reserved = undefined;
        throw new DependencyUnavailableError(
          'orders',
          new Error(`order ${orderId} outlived its reservation`),
        );
      }
      this.#deps.metrics.placed();
      this.#deps.onCommitted();
      await stock
        .consume(orderId)
        .catch((error: unknown) => this.#deps.onError(error, 'reservation left for the sweeper'));
      await cart
        .clear()
        .catch((error: unknown) => this.#deps.onError(error, 'cart not cleared after the order'));
      return { order, replayed: false };
    } catch (error) {
      const settled = await this.#undo(userId, key, orderId, reserved, intended);
      if (settled) return settled;
      this.#deps.metrics.rejected(refusalReason(error));
      throw error;
    }
  }

  /**
   * Gives back what a failed attempt took. The claim goes first: it is the fence, so if the
   * sweeper already took it, the stock is the sweeper's to return (and has been). Once the
   * claim is gone the order can never commit, so any charge is refunded (by reference, which
   * also covers a charge whose reply never came). If the claim cannot be reached (its shard
   * is down), nothing is undone here: the payment intent and the reservation stay, and the
   * sweeper refunds and releases them once the attempt has expired.
   */
  async #undo(
    userId: string,
    key: string,
    orderId: string,
    reserved: readonly CartLine[] | undefined,
    intended: boolean,
  ): Promise<PlacedOrder | undefined> {
    const { orders, stock, gate, payments } = this.#deps;
    try {
      const released = await orders.releaseClaim(userId, key, orderId);
      if (!released) {
        // The commit may have happened after all (a lost reply): then that is the answer.
        const record = await orders.record(userId, key);
        if (record?.state === 'completed' && record.orderId === orderId)
          return { order: await this.#placedOrder(userId, orderId), replayed: false };
      }
      if (intended) {
        await payments.refund(orderId);
        await orders.voidIntent(userId, orderId);
      }
      if (released && reserved) await gate.giveBack(await stock.release(orderId));
    } catch (error) {
      // What could not be undone now, the reservation sweeper undoes when it expires.
      this.#deps.onError(error, 'undo deferred to the reservation sweeper');
    }
    return undefined;
  }

  async #cartLines(cart: CallerCart): Promise<readonly CartLine[]> {
    const lines = await cart.lines();
    if (lines.length === 0) throw new CartEmptyError();
    const tooMany = lines.find(
      (l) =>
        !Number.isInteger(l.quantity) ||
        l.quantity < 1 ||
        l.quantity > this.#deps.policy.maxQuantity,
    );
    if (tooMany) throw new InvalidQuantityError(tooMany.productId, this.#deps.policy.maxQuantity);
    return [...lines].sort((a, b) => compareIds(a.productId, b.productId));
  }

  /** One order, only for its owner (anyone else gets the same answer as for no order). */
  async get(userId: string, orderId: string): Promise<Order> {
    // The store reads only the owner's order: anyone else's id is the same as none.
    const order = await this.#deps.orders.get(userId, orderId);
    if (!order) throw new OrderNotFoundError(orderId);
    return order;
  }

  /** The user's orders, newest first, and the id the next page starts below (if any). */
  async list(
    userId: string,
    limit: number,
    before?: string,
  ): Promise<{ readonly orders: readonly Order[]; readonly nextBefore: string | undefined }> {
    const page = await this.#deps.orders.list(userId, {
      limit: limit + 1,
      ...(before ? { before } : {}),
    });
    const orders = page.slice(0, limit);
    const last = orders.at(-1);
    return { orders, nextBefore: page.length > limit && last ? last.id : undefined };
  }
}

/** What the cart held and what the gate said before the claim, or why the cart was not had. */
type Admission =
  | {
      readonly lines: readonly CartLine[];
      readonly admitted: Awaited<ReturnType<StockGate['take']>>;
    }
  | { readonly cartError: unknown };

/** The metric label of a failed attempt: the refusal's reason, or the problem code. */
function refusalReason(error: unknown): string {
  if (error instanceof OrderRefusal) return error.reason;
  return error instanceof AppError ? error.code : 'error';
}

/** Product ids are numbers in strings: lock rows in numeric order so two orders cannot deadlock. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function placedEvent(order: Order, now: Date): OrderPlacedEvent {
  return {
    eventId: randomUUID(),
    type: 'order.placed',
    version: 1,
    occurredAt: now.toISOString(),
    order: {
      id: order.id,
      userId: order.userId,
      status: order.status,
      totalCents: order.totalCents,
      currency: order.currency,
      items: order.items.map(({ productId, name, quantity, unitPriceCents }) => ({
        productId,
        name,
        quantity,
        unitPriceCents,
      })),
      createdAt: order.createdAt,
    },
    contact: order.contact,
  };
}
