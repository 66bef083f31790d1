import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CartEmptyError,
  IdempotencyConflictError,
  SoldOutError,
  UnknownProductsError,
} from '../src/domain/errors.js';
import {
  listOrdersQuery,
  parseIdempotencyKey,
  priceLines,
  requestFingerprint,
  type CartLine,
  type Order,
  type ProductFacts,
} from '../src/domain/order.js';
import { OrderService } from '../src/domain/order.service.js';
import type {
  CallerCart,
  IdempotencyRecord,
  OrderStore,
  PaymentIntent,
  PaymentProvider,
  Reservation,
  StockGate,
  StockLedger,
} from '../src/domain/ports.js';

const phone: ProductFacts = { id: '7', name: 'Phone', priceCents: 1_999_900, currency: 'INR' };
const case_: ProductFacts = { id: '12', name: 'Case', priceCents: 49_900, currency: 'INR' };
const catalog = new Map([phone, case_].map((p) => [p.id, p]));

describe('pricing a cart', () => {
  it('when every product is sold, then each line is priced at commerce’s price and totalled', () => {
    const priced = priceLines(
      [
        { productId: '7', quantity: 2 },
        { productId: '12', quantity: 3 },
      ],
      catalog,
    );
    assert.deepEqual(
      priced.items.map((i) => [i.productId, i.unitPriceCents, i.lineTotalCents]),
      [
        ['7', 1_999_900, 3_999_800],
        ['12', 49_900, 149_700],
      ],
    );
    assert.equal(priced.totalCents, 4_149_500);
    assert.equal(priced.currency, 'INR');
  });

  it('when products are gone, then the error names every one of them', () => {
    assert.throws(
      () =>
        priceLines(
          [
            { productId: '7', quantity: 1 },
            { productId: '8', quantity: 1 },
            { productId: '9', quantity: 1 },
          ],
          catalog,
        ),
      (error: unknown) =>
        error instanceof UnknownProductsError && error.productIds.join() === '8,9',
    );
  });

  it('when the cart mixes currencies, then it cannot be one order', () => {
    const dollars = new Map([...catalog, ['5', { ...phone, id: '5', currency: 'USD' }]]);
    assert.throws(
      () =>
        priceLines(
          [
            { productId: '7', quantity: 1 },
            { productId: '5', quantity: 1 },
          ],
          dollars,
        ),
      /several currencies: INR, USD/,
    );
  });
});

describe('request fingerprints', () => {
  it('when two bodies differ only in key order or absent members, then they are the same request', () => {
    assert.equal(
      requestFingerprint({ paymentMethod: 'upi', contact: { email: 'a@b.in', phone: undefined } }),
      requestFingerprint({ contact: { email: 'a@b.in' }, paymentMethod: 'upi' }),
    );
  });

  it('when a value differs, then the fingerprint differs', () => {
    assert.notEqual(
      requestFingerprint({ paymentMethod: 'upi' }),
      requestFingerprint({ paymentMethod: 'card' }),
    );
  });
});

describe('Idempotency-Key and cursors', () => {
  it('when the key is a bare token or a structured-field string, then both are the same key', () => {
    assert.deepEqual(parseIdempotencyKey('order-2026-12-02'), { key: 'order-2026-12-02' });
    assert.deepEqual(parseIdempotencyKey('"order-2026-12-02"'), { key: 'order-2026-12-02' });
  });

  it('when the key is missing, short or carries odd characters, then it is refused', () => {
    assert.deepEqual(parseIdempotencyKey(undefined), { problem: 'missing' });
    assert.deepEqual(parseIdempotencyKey('  '), { problem: 'missing' });
    assert.deepEqual(parseIdempotencyKey('short'), { problem: 'invalid' });
    assert.deepEqual(parseIdempotencyKey('key with spaces'), { problem: 'invalid' });
    assert.deepEqual(parseIdempotencyKey(`k${'x'.repeat(255)}`), { problem: 'invalid' });
  });

  it('when a cursor (the order id a page starts below) comes back, then it is that id; anything else is no cursor', () => {
    const cursor = (text: string) => listOrdersQuery.safeParse({ cursor: text });
    assert.equal(cursor('123456789012').data?.cursor, '123456789012');
    for (const bad of ['12;DROP', 'not a cursor', '0', '012', '1'.repeat(21), ''])
      assert.equal(cursor(bad).success, false, bad);
  });
});

/** The saga's ports in memory: enough to drive its branches, nothing a server does. */
class MemoryStore implements OrderStore {
  readonly claims = new Map<string, IdempotencyRecord>();
  readonly orders = new Map<string, Order>();
  readonly intents = new Map<string, PaymentIntent & { state: string }>();
  #nextId = 100;
  /** Set to make the next commit write and then lose its reply. */
  loseCommitReply = false;

  /** Set to make the next claim fail (its shard away). */
  failNextClaim = false;

  nextOrderId() {
    return Promise.resolve(String(this.#nextId++));
  }
  get idsTaken() {
    return this.#nextId - 100;
  }
  claim(userId: string, key: string, requestHash: string, orderId: string) {
    if (this.failNextClaim) {
      this.failNextClaim = false;
      return Promise.reject(new Error('connect ECONNREFUSED'));
    }
    const existing = this.claims.get(`${userId}/${key}`);
    if (existing) return Promise.resolve({ claimed: false as const, existing });
    this.claims.set(`${userId}/${key}`, {
      requestHash,
      orderId,
      state: 'started',
      startedAt: new Date(),
    });
    return Promise.resolve({ claimed: true as const });
  }
  record(userId: string, key: string) {
    return Promise.resolve(this.claims.get(`${userId}/${key}`));
  }
  releaseClaim(userId: string, key: string, orderId: string) {
    const claim = this.claims.get(`${userId}/${key}`);
    if (claim?.orderId !== orderId || claim.state !== 'started') return Promise.resolve(false);
    this.claims.delete(`${userId}/${key}`);
    return Promise.resolve(true);
  }
  commit(order: Order, key: string) {
    const claim = this.claims.get(`${order.userId}/${key}`);
    if (claim?.orderId !== order.id || claim.state !== 'started') return Promise.resolve(false);
    this.claims.set(`${order.userId}/${key}`, { ...claim, state: 'completed' });
    this.orders.set(order.id, order);
    const intent = this.intents.get(order.id);
    if (intent) intent.state = 'captured';
    if (this.loseCommitReply) {
      this.loseCommitReply = false;
      return Promise.reject(new Error('Connection lost: The server closed the connection.'));
    }
    return Promise.resolve(true);
  }
  settle(): Promise<'committed' | 'abandoned'> {
    return Promise.resolve('abandoned');
  }
  recordIntent(intent: PaymentIntent) {
    this.intents.set(intent.orderId, { ...intent, state: 'pending' });
    return Promise.resolve();
  }
  voidIntent(_userId: string, orderId: string) {
    const intent = this.intents.get(orderId);
    if (intent) intent.state = 'voided';
    return Promise.resolve();
  }
  pendingIntents(): Promise<readonly Reservation[]> {
    return Promise.resolve([]);
  }
  get(userId: string, orderId: string) {
    const order = this.orders.get(orderId);
    return Promise.resolve(order?.userId === userId ? order : undefined);
  }
  list() {
    return Promise.resolve([...this.orders.values()]);
  }
  purgeIdempotencyKeys() {
    return Promise.resolve(0);
  }
}

class MemoryStock implements StockLedger {
  readonly units = new Map([
    ['7', 5],
    ['12', 50],
  ]);
  readonly held = new Map<string, readonly CartLine[]>();
  products(ids: readonly string[]) {
    return Promise.resolve(
      new Map(
        ids.flatMap((id) => (catalog.has(id) ? [[id, catalog.get(id) as ProductFacts]] : [])),
      ),
    );
  }
  reserve(reservation: Reservation & { readonly lines: readonly CartLine[] }) {
    const short = reservation.lines.find((l) => (this.units.get(l.productId) ?? 0) < l.quantity);
    if (short) return Promise.resolve({ ok: false as const, soldOut: short.productId });
    for (const l of reservation.lines)
      this.units.set(l.productId, (this.units.get(l.productId) ?? 0) - l.quantity);
    this.held.set(reservation.orderId, reservation.lines);
    return Promise.resolve({ ok: true as const });
  }
  release(orderId: string) {
    const lines = this.held.get(orderId) ?? [];
    for (const l of lines)
      this.units.set(l.productId, (this.units.get(l.productId) ?? 0) + l.quantity);
    this.held.delete(orderId);
    return Promise.resolve(lines);
  }
  consume(orderId: string) {
    this.held.delete(orderId);
    return Promise.resolve();
  }
  expired() {
    return Promise.resolve([]);
  }
  stockOf(productId: string) {
    return Promise.resolve(this.units.get(productId));
  }
}

class MemoryPayments implements PaymentProvider {
  readonly charged = new Map<string, number>();
  readonly refunded = new Set<string>();
  charge(request: { readonly reference: string; readonly amountCents: number }) {
    this.charged.set(request.reference, request.amountCents);
    return Promise.resolve({ id: `pay_${request.reference}` });
  }
  refund(reference: string) {
    if (this.charged.has(reference)) this.refunded.add(reference);
    return Promise.resolve();
  }
}

type Verdict = Awaited<ReturnType<StockGate['take']>>;

function saga(admit: Verdict | (() => Verdict) = 'unavailable') {
  const store = new MemoryStore();
  const stock = new MemoryStock();
  const payments = new MemoryPayments();
  const rejected: string[] = [];
  const givenBack: CartLine[][] = [];
  const service = new OrderService({
    stock,
    gate: {
      take: () => Promise.resolve(typeof admit === 'function' ? admit() : admit),
      giveBack: (lines) => {
        givenBack.push([...lines]);
        return Promise.resolve();
      },
      forget: () => Promise.resolve(),
    },
    payments,
    orders: store,
    metrics: { placed: () => undefined, rejected: (reason) => rejected.push(reason) },
    policy: { reservationTtlMs: 60_000, idempotencyWaitMs: 50, maxQuantity: 10 },
    clock: () => new Date(),
    onCommitted: () => undefined,
    onError: () => undefined,
  });
  return { service, store, stock, payments, rejected, givenBack };
}

function cartOf(lines: readonly CartLine[]): CallerCart & { cleared: boolean } {
  const cart = {
    cleared: false,
    lines: () => Promise.resolve(lines),
    clear: () => {
      cart.cleared = true;
      return Promise.resolve();
    },
  };
  return cart;
}

describe('the order saga’s branches', () => {
  const request = (cart: CallerCart, key = 'key-00000001') => ({
    userId: 'alice',
    key,
    input: { paymentMethod: 'upi' as const },
    cart,
  });

  it('when the commit happened but its reply was lost, then the attempt answers with its order, keeps the charge and the units', async () => {
    const { service, store, stock, payments } = saga();
    store.loseCommitReply = true;
    const cart = cartOf([{ productId: '7', quantity: 2 }]);

    const placed = await service.place(request(cart));

    assert.equal(placed.replayed, false);
    assert.equal(placed.order.totalCents, 3_999_800);
    assert.equal(store.orders.get(placed.order.id)?.paymentId, `pay_${placed.order.id}`);
    assert.equal(payments.refunded.size, 0, 'the committed order’s charge is not refunded');
    assert.equal(store.intents.get(placed.order.id)?.state, 'captured');
    assert.equal(stock.units.get('7'), 3, 'the units stay sold');
  });

  it('when the same key comes again, then it replays the stored order; with another body it is a conflict', async () => {
    const { service } = saga();
    const first = await service.place(request(cartOf([{ productId: '12', quantity: 1 }])));

    const again = await service.place(request(cartOf([])));
    assert.equal(again.replayed, true);
    assert.deepEqual(again.order, first.order);

    await assert.rejects(
      service.place({ ...request(cartOf([])), input: { paymentMethod: 'card' } }),
      IdempotencyConflictError,
    );
  });

  it('when a line is sold out, then nothing is charged, the claim is released and the refusal is counted', async () => {
    const { service, store, payments, rejected } = saga();

    await assert.rejects(
      service.place(request(cartOf([{ productId: '7', quantity: 6 }]))),
      (error: unknown) => error instanceof SoldOutError && error.productId === '7',
    );
    assert.equal(payments.charged.size, 0);
    assert.equal(store.claims.size, 0);
    assert.deepEqual(rejected, ['sold_out']);
  });

  it('when the gate admitted a cart it then cannot be priced for (a product gone from commerce), then the gate gets its units back and the refusal names the product', async () => {
    const { service, store, givenBack, rejected } = saga('ok');
    const lines = [
      { productId: '7', quantity: 1 },
      { productId: '999', quantity: 1 },
    ];

    await assert.rejects(
      service.place(request(cartOf(lines))),
      (error: unknown) =>
        error instanceof UnknownProductsError && error.productIds.join() === '999',
    );
    assert.deepEqual(givenBack, [lines]);
    assert.equal(store.claims.size, 0);
    assert.deepEqual(rejected, ['unknown_product']);
  });

  it('when the gate turns a buyer away and this attempt never took units, then nothing is written and the same key is simply asked again', async () => {
    const verdicts: Verdict[] = [{ soldOut: '7', tookBefore: false }, 'ok'];
    const { service, store, rejected } = saga(() => verdicts.shift() ?? 'unavailable');
    const cart = cartOf([{ productId: '7', quantity: 1 }]);

    await assert.rejects(
      service.place(request(cart)),
      (error: unknown) => error instanceof SoldOutError && error.productId === '7',
    );
    assert.equal(store.claims.size, 0, 'no claim');
    assert.equal(store.idsTaken, 0, 'no order id');
    assert.deepEqual(rejected, ['sold_out']);

    const placed = await service.place(request(cart));
    assert.equal(placed.replayed, false, 'a fresh attempt, once units are back');
  });

  it('when the gate is short for an attempt that took units before, then the claim decides: the placed order is replayed', async () => {
    const verdicts: Verdict[] = ['ok', { soldOut: '12', tookBefore: true }];
    const { service, givenBack } = saga(() => verdicts.shift() ?? 'unavailable');
    const first = await service.place(request(cartOf([{ productId: '12', quantity: 1 }])));

    const again = await service.place(request(cartOf([{ productId: '12', quantity: 1 }])));

    assert.equal(again.replayed, true);
    assert.deepEqual(again.order, first.order);
    assert.deepEqual(givenBack, [], 'the second answer took nothing, so gives nothing back');
  });

  it('when the gate admitted a buyer but the claim cannot be written, then the units go back', async () => {
    const { service, store, givenBack } = saga('ok');
    store.failNextClaim = true;
    const lines = [{ productId: '7', quantity: 1 }];

    await assert.rejects(service.place(request(cartOf(lines))), /ECONNREFUSED/);
    assert.deepEqual(givenBack, [lines]);
  });

  it('when another request holds the key, then what the gate gave this one goes back before it waits for that one’s answer', async () => {
    const { service, givenBack } = saga('ok');
    const lines = [{ productId: '12', quantity: 1 }];
    const first = await service.place(request(cartOf(lines)));

    const again = await service.place(request(cartOf(lines)));

    assert.deepEqual(again.order, first.order);
    assert.deepEqual(givenBack, [lines]);
  });

  it('when the cart is empty, then the refusal says so and the key can be used again', async () => {
    const { service, store } = saga();
    await assert.rejects(service.place(request(cartOf([]))), CartEmptyError);
    assert.equal(store.claims.size, 0);
  });

  it('when the cart cannot be read, then its error is the answer after one read (no second wait) and the key can be used again', async () => {
    const { service, store } = saga();
    const down = new Error('the carts are unreachable');
    let reads = 0;
    const unreadable: CallerCart = {
      lines: () => {
        reads += 1;
        return Promise.reject(down);
      },
      clear: () => Promise.resolve(),
    };

    await assert.rejects(service.place(request(unreadable)), (error) => error === down);

    assert.equal(reads, 1);
    assert.equal(store.claims.size, 0);
  });
});
