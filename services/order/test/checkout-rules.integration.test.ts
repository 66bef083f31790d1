import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startCheckout, type Checkout } from './support.js';

const phone = { id: 201, name: 'Rules Phone', priceCents: 1_500_000, stock: 50 };
const gone = { id: 202, name: 'Discontinued', priceCents: 100, stock: 5 };
const problem = 'application/problem+json; charset=utf-8';

describe('checkout rules', () => {
  let shop: Checkout;
  before(async () => {
    shop = await startCheckout([phone, gone]);
  });
  after(() => shop.close());

  const ordersOf = (user: string) =>
    shop.customerRows('SELECT id FROM orders WHERE user_id = ?', [user]);
  const claimsOf = (user: string) =>
    shop.customerRows('SELECT idem_key FROM idempotency_keys WHERE user_id = ?', [user]);

  it('when the same request is retried 20 times at once with one key, then there is one order', async () => {
    const user = `retrier-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, phone.id, 1);
    const stockBefore = await shop.stock(phone.id);
    const key = randomUUID();

    const answers = await Promise.all(Array.from({ length: 20 }, () => shop.placeOrder(user, key)));

    assert.deepEqual(
      answers.map((a) => a.status),
      Array(20).fill(201),
    );
    assert.equal(new Set(answers.map((a) => a.body['id'])).size, 1);
    assert.equal((await ordersOf(user)).length, 1);
    assert.equal(await shop.stock(phone.id), stockBefore - 1);
  });

  it('when a key is reused for a different request, then it is a 409 idempotency_conflict', async () => {
    const user = `reuser-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, phone.id, 1);
    const key = randomUUID();
    const first = await shop.placeOrder(user, key, { paymentMethod: 'upi' });

    const second = await shop.placeOrder(user, key, { paymentMethod: 'card' });

    assert.equal(first.status, 201);
    assert.equal(second.status, 409);
    assert.equal(second.body['code'], 'idempotency_conflict');
    assert.equal((await ordersOf(user)).length, 1);
  });

  it('when the input is bad, then the answer is a 4xx problem and nothing changes', async () => {
    const user = `careless-${randomUUID().slice(0, 8)}`;
    const auth = { authorization: `Bearer ${await shop.token(user)}` };
    const stockBefore = await shop.stock(phone.id);
    const post = (headers: Record<string, string>, body: unknown = {}) =>
      fetch(`${shop.order.url}/api/orders`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const cartAdd = (quantity: number) =>
      fetch(`${shop.cart.url}/api/cart/items`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ productId: String(phone.id), quantity }),
      });

    const cases = {
      'no key': await post({}),
      'malformed key': await post({ 'idempotency-key': 'short' }),
      'empty cart': await post({ 'idempotency-key': randomUUID() }),
      "another user's cart": await post({ 'idempotency-key': randomUUID() }, { userId: 'victim' }),
      'quantity 0': await cartAdd(0),
      'quantity 10^6': await cartAdd(1_000_000),
    };
    const statuses = Object.fromEntries(Object.entries(cases).map(([k, r]) => [k, r.status]));
    const codes: Record<string, string> = {};
    for (const [k, r] of Object.entries(cases))
      codes[k] = ((await r.json()) as { code: string }).code;

    assert.deepEqual(statuses, {
      'no key': 400,
      'malformed key': 400,
      'empty cart': 422,
      "another user's cart": 400,
      'quantity 0': 400,
      'quantity 10^6': 400,
    });
    assert.deepEqual(codes, {
      'no key': 'idempotency_key_missing',
      'malformed key': 'idempotency_key_invalid',
      'empty cart': 'cart_empty',
      "another user's cart": 'validation_failed',
      'quantity 0': 'validation_failed',
      'quantity 10^6': 'validation_failed',
    });
    for (const response of Object.values(cases))
      assert.equal(response.headers.get('content-type'), problem);
    assert.equal((await ordersOf(user)).length, 0);
    assert.equal((await claimsOf(user)).length, 0, 'no idempotency key is left claimed');
    assert.equal(await shop.stock(phone.id), stockBefore);
  });

  it('when a product in the cart is no longer sold, then the order is a 422 unknown_product', async () => {
    const user = `late-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, gone.id, 1);
    await shop.commerceRows('DELETE FROM products WHERE id = ?', [gone.id]);

    const placed = await shop.placeOrder(user);

    assert.equal(placed.status, 422);
    assert.equal(placed.body['code'], 'unknown_product');
    assert.equal((await ordersOf(user)).length, 0);
  });

  it('when the payment is declined, then it is a 402, the stock comes back and the key can be retried', async () => {
    const declining = await shop.startOrder({ PAYMENT_SANDBOX_FAILURE_RATE: '1' });
    const user = `declined-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, phone.id, 2);
    const stockBefore = await shop.stock(phone.id);
    const key = randomUUID();

    const response = await fetch(`${declining.url}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await shop.token(user)}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: '{}',
    });
    const retried = await shop.placeOrder(user, key);

    assert.equal(response.status, 402);
    assert.equal(((await response.json()) as { code: string }).code, 'payment_declined');
    assert.equal(retried.status, 201, 'the same key places the order once payment works');
    assert.equal(await shop.stock(phone.id), stockBefore - 2);
    assert.equal((await ordersOf(user)).length, 1);
  });

  it('when a request died holding a reservation, then the sweeper returns its units; a committed one keeps them', async () => {
    const ledgerStock = await shop.stock(phone.id);
    const abandoned = {
      orderId: '900000001',
      user: `crashed-${randomUUID().slice(0, 8)}`,
      key: randomUUID(),
    };
    // What a crash between reserving and committing leaves: a claim and an expired reservation.
    await shop.order.db.execute(
      { keyspace: 'customer', table: 'idempotency_keys', key: abandoned.user },
      `INSERT INTO idempotency_keys (user_id, idem_key, request_hash, order_id, state, created_at)
       VALUES (?, ?, 'h', ?, 'started', UTC_TIMESTAMP(3))`,
      [abandoned.user, abandoned.key, abandoned.orderId],
    );
    await shop.commerceRows('UPDATE products SET stock = stock - 3 WHERE id = ?', [phone.id]);
    await shop.commerceRows(
      `INSERT INTO stock_reservations (order_id, product_id, quantity, user_id, idem_key, expires_at)
       VALUES (?, ?, 3, ?, ?, UTC_TIMESTAMP(3) - INTERVAL 1 SECOND)`,
      [abandoned.orderId, phone.id, abandoned.user, abandoned.key],
    );

    const swept = await shop.order.sweeper.sweep();

    assert.deepEqual(swept, { released: 1, consumed: 0, refunded: 0, purgedKeys: 0 });
    assert.equal(await shop.stock(phone.id), ledgerStock);
    assert.equal((await claimsOf(abandoned.user)).length, 0, 'the claim is fenced off');
    assert.equal((await shop.commerceRows('SELECT * FROM stock_reservations')).length, 0);

    // An order that committed but whose reservation was never consumed (crash after commit).
    const user = `committed-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, phone.id, 1);
    const placed = await shop.placeOrder(user);
    const claim = await shop.customerRows(
      'SELECT idem_key FROM idempotency_keys WHERE user_id = ?',
      [user],
    );
    await shop.commerceRows(
      `INSERT INTO stock_reservations (order_id, product_id, quantity, user_id, idem_key, expires_at)
       VALUES (?, ?, 1, ?, ?, UTC_TIMESTAMP(3) - INTERVAL 1 SECOND)`,
      [placed.body['id'], phone.id, user, claim[0]?.['idem_key']],
    );
    const stockAfterOrder = await shop.stock(phone.id);

    assert.deepEqual(await shop.order.sweeper.sweep(), {
      released: 0,
      consumed: 1,
      refunded: 0,
      purgedKeys: 0,
    });
    assert.equal(await shop.stock(phone.id), stockAfterOrder);
  });
});
