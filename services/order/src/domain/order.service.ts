import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, DependencyUnavailableError, NotFoundError } from '@mela/platform';
import type { OrderPlacedEvent } from '@mela/messaging';
import {
  orderView,
  priceLines,
  requestFingerprint,
  UnknownProductsError,
  withDefaults,
  type CartLine,
  type Order,
  type OrderView,
  type PlaceOrderInput,
} from './order.js';
import {
  PaymentDeclinedError,
  type CartSource,
  type IdempotencyRecord,
  type OrderStore,
  type PaymentProvider,
  type StockGate,
  type StockLedger,
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
  readonly status: number;
  readonly body: unknown;
  /** True when this is the stored answer to an earlier request with the same key. */
  readonly replayed: boolean;
}

/** Counters the service reports; the adapter behind them is prom-client. */
export interface OrderMetrics {
  placed(): void;
  rejected(reason: string): void;
}

export interface OrderServiceDeps {
  readonly carts: CartSource;
  readonly stock: StockLedger;
  readonly gate: StockGate;
  readonly payments: PaymentProvider;
  readonly orders: OrderStore;
  readonly metrics: OrderMetrics;
  readonly policy: OrderPolicy;
  readonly clock: () => Date;
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

  /** `POST /api/orders` with an Idempotency-Key: the same key always answers with the same order. */
  async place(
    userId: string,
    key: string,
    input: PlaceOrderInput,
    authorization: string,
  ): Promise<PlacedOrder> {
    const hash = requestFingerprint(input);
    const deadline = Date.now() + this.#deps.policy.idempotencyWaitMs;
    for (;;) {
      const orderId = await this.#deps.orders.nextOrderId();
      const claim = await this.#deps.orders.claim(userId, key, hash, orderId);
      if (claim.claimed) return this.#placeClaimed(userId, key, orderId, input, authorization);
      const answer = await this.#awaitEarlier(userId, key, hash, claim.existing, deadline);
      if (answer) return answer;
      // The earlier request failed and gave its key back: this one is a fresh attempt.
    }
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
      if (record.requestHash !== hash) {
        throw new AppError('idempotency_conflict', 409, 'Conflict', {
          detail: 'This Idempotency-Key was used for a different request.',
        });
      }
      if (record.state === 'completed' && record.response)
        return { ...record.response, replayed: true };
      if (
        this.#deps.clock().getTime() - record.startedAt.getTime() >
        this.#deps.policy.reservationTtlMs
      ) {
        // Its request died before reserving anything (or its reservation has expired): take over.
        await this.#deps.orders.releaseClaim(userId, key, record.orderId);
        return undefined;
      }
      if (Date.now() >= deadline) {
        throw new AppError('idempotency_in_progress', 409, 'Conflict', {
          detail: 'A request with this Idempotency-Key is still being processed.',
          headers: { 'Retry-After': '1' },
        });
      }
      await delay(wait);
      record = await this.#deps.orders.record(userId, key);
    }
    return undefined;
  }

  async #placeClaimed(
    userId: string,
    key: string,
    orderId: string,
    input: PlaceOrderInput,
    authorization: string,
  ): Promise<PlacedOrder> {
    const { orders, stock, gate, payments } = this.#deps;
    let reserved: readonly CartLine[] | undefined;
    let intended = false;
    try {
      const lines = await this.#cartLines(authorization);
      const products = await stock.products(lines.map((l) => l.productId));
      const priced = this.#price(lines, products);

      const admitted = await gate.take(lines);
      if (typeof admitted === 'object') throw soldOut(admitted.soldOut);
      const outcome = await stock
        .reserve({
          orderId,
          userId,
          idempotencyKey: key,
          lines,
          expiresAt: new Date(this.#deps.clock().getTime() + this.#deps.policy.reservationTtlMs),
        })
        .catch(async (error: unknown) => {
          if (admitted === 'ok') await gate.giveBack(lines);
          throw error;
        });
      if (!outcome.ok) {
        if (admitted === 'ok') await gate.forget(lines.map((l) => l.productId));
        throw soldOut(outcome.soldOut);
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
        if (error instanceof PaymentDeclinedError) {
          throw new AppError('payment_declined', 402, 'Payment declined', {
            detail: 'The payment was declined; nothing was charged and the cart is unchanged.',
            cause: error,
          });
        }
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
      const body = orderView(order);
      const committed = await orders.commit(order, key, placedEvent(order, this.#deps.clock()), {
        status: 201,
        body,
      });
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
      await this.#deps.carts
        .clear(authorization)
        .catch((error: unknown) => this.#deps.onError(error, 'cart not cleared after the order'));
      return { status: 201, body, replayed: false };
    } catch (error) {
      const settled = await this.#undo(userId, key, orderId, reserved, intended);
      if (settled) return settled;
      this.#deps.metrics.rejected(error instanceof AppError ? error.code : 'error');
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
        if (record?.state === 'completed' && record.orderId === orderId && record.response)
          return { ...record.response, replayed: false };
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

  async #cartLines(authorization: string): Promise<readonly CartLine[]> {
    const lines = await this.#deps.carts.lines(authorization);
    if (lines.length === 0) {
      throw new AppError('cart_empty', 422, 'Cart is empty', {
        detail: 'Add products to the cart before placing an order.',
      });
    }
    const tooMany = lines.find(
      (l) =>
        !Number.isInteger(l.quantity) ||
        l.quantity < 1 ||
        l.quantity > this.#deps.policy.maxQuantity,
    );
    if (tooMany) {
      throw new AppError('invalid_quantity', 422, 'Invalid quantity', {
        detail: `Between 1 and ${this.#deps.policy.maxQuantity} units of product ${tooMany.productId} per order.`,
      });
    }
    return [...lines].sort((a, b) => compareIds(a.productId, b.productId));
  }

  #price(lines: readonly CartLine[], products: Parameters<typeof priceLines>[1]) {
    try {
      return priceLines(lines, products);
    } catch (error) {
      if (error instanceof UnknownProductsError) {
        throw new AppError('unknown_product', 422, 'Unknown product', {
          detail: `These products are no longer sold: ${error.productIds.join(', ')}.`,
          extensions: { productIds: error.productIds },
        });
      }
      throw error;
    }
  }

  /** One order, only for its owner (anyone else gets the same 404 as for no order). */
  async get(userId: string, orderId: string): Promise<OrderView> {
    // The store reads only the owner's order: anyone else's id is the same 404 as none.
    const order = await this.#deps.orders.get(userId, orderId);
    if (!order) throw new NotFoundError('No such order.', 'order_not_found');
    return orderView(order);
  }

  /** The user's orders, newest first. */
  async list(userId: string, limit: number, before?: string) {
    const page = await this.#deps.orders.list(userId, {
      limit: limit + 1,
      ...(before ? { before } : {}),
    });
    const orders = page.slice(0, limit).map(orderView);
    const last = orders.at(-1);
    return { orders, nextBefore: page.length > limit && last ? last.id : undefined };
  }

  /**
   * Returns the stock of reservations whose requests died (crash, timeout) and drops the
   * reservations of orders that did commit. Safe to run on every replica at once.
   */
  async sweepExpired(
    limit = 100,
  ): Promise<{ released: number; consumed: number; refunded: number }> {
    const { orders, stock, gate, payments } = this.#deps;
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
    const expiredBefore = new Date(
      this.#deps.clock().getTime() - this.#deps.policy.reservationTtlMs,
    );
    for (const intent of await orders.pendingIntents(expiredBefore, limit)) {
      try {
        if ((await orders.settle(intent)) === 'committed') continue;
        await payments.refund(intent.orderId);
        await orders.voidIntent(intent.userId, intent.orderId);
        refunded++;
      } catch (error) {
        this.#deps.onError(error, `payment of order ${intent.orderId} not reconciled yet`);
      }
    }
    return { released, consumed, refunded };
  }
}

function soldOut(productId: string): AppError {
  return new AppError('sold_out', 409, 'Sold out', {
    detail: `Product ${productId} is sold out.`,
    extensions: { productId },
  });
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
