import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startCheckout, type Checkout } from './support.js';

const phone = { id: 801, name: 'Sweep Phone', priceCents: 999_900, stock: 25 };

/** An HS256 JWT signed with `secret`, with the claims given (a forger's or a clock's mistakes). */
function jwt(secret: string, claims: Record<string, unknown>, header = { alg: 'HS256' }): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ typ: 'JWT', ...header })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** Ids as a hostile client spells them. */
const badIds = [
  '0',
  '-1',
  '1e3',
  '01',
  ' 1',
  '1.0',
  '０１',
  'abc',
  '%00',
  '..%2F..%2Fetc',
  '99999999999999999999999999',
  '18446744073709551616',
  'x'.repeat(5000),
  '%F0%9F%92%A9',
];

/** Bodies as a hostile client sends them (raw text, with a JSON content type). */
const badBodies = [
  '{"unterminated": ',
  'null',
  '[]',
  '"a string"',
  '42',
  '{"__proto__": {"admin": true}}',
  '{"constructor": {"prototype": {"x": 1}}}',
  JSON.stringify({ pad: 'x'.repeat(200_000) }),
];

/** Values where a number is expected. */
const absurdNumbers: unknown[] = [
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 63,
  '7',
  null,
  true,
  [1],
  { n: 1 },
];

interface Probe {
  readonly name: string;
  readonly url: string;
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

describe('every route under hostile input', () => {
  let shop: Checkout;
  let user: string;
  let userToken: string;
  let adminToken: string;

  /** What the sweep must not change: stock and prices, orders, charges, the cart. */
  const snapshot = async () => ({
    products: await shop.commerceRows(
      'SELECT id, stock, price_cents, version, name FROM products ORDER BY id',
    ),
    reservations: await shop.commerceRows('SELECT COUNT(*) AS n FROM stock_reservations'),
    charges: await shop.commerceRows('SELECT COUNT(*) AS n FROM sandbox_payments'),
    orders: (await shop.customerRows('SELECT id FROM orders')).length,
    outbox: (await shop.customerRows('SELECT id FROM outbox')).length,
    claims: (await shop.customerRows('SELECT user_id FROM idempotency_keys')).length,
    cart: await (
      await fetch(`${shop.cart.url}/api/cart`, {
        headers: { authorization: `Bearer ${userToken}` },
      })
    ).json(),
  });

  before(async () => {
    shop = await startCheckout([phone]);
    user = `sweep-${randomUUID().slice(0, 8)}`;
    userToken = await shop.token(user);
    adminToken = await shop.token(`admin-${randomUUID().slice(0, 6)}`, ['user', 'admin']);
    await shop.addToCart(user, phone.id, 2);
  });
  after(() => shop.close());

  it('then nothing answers 5xx, every refusal is problem+json, and nothing changes', async () => {
    const { catalog, cart, order } = shop;
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: user, roles: ['user', 'admin'], iss: 'mela-dev', aud: 'mela' };
    const forged = {
      'no scheme': userToken,
      'empty bearer': 'Bearer ',
      'not a jwt': 'Bearer x.y.z',
      basic: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'wrong key': `Bearer ${jwt('another-secret-of-32-characters-or-more!', { ...claims, exp: now + 600 })}`,
      expired: `Bearer ${jwt(shop.secret, { ...claims, exp: now - 3600, iat: now - 7200 })}`,
      'not yet valid': `Bearer ${jwt(shop.secret, { ...claims, exp: now + 7200, nbf: now + 3600 })}`,
      'wrong audience': `Bearer ${jwt(shop.secret, { ...claims, aud: 'elsewhere', exp: now + 600 })}`,
      'wrong issuer': `Bearer ${jwt(shop.secret, { ...claims, iss: 'evil', exp: now + 600 })}`,
      'alg none': `Bearer ${jwt(shop.secret, { ...claims, exp: now + 600 }, { alg: 'none' })
        .split('.')
        .slice(0, 2)
        .join('.')}.`,
      'no subject': `Bearer ${jwt(shop.secret, { ...claims, sub: undefined, exp: now + 600 })}`,
      'huge subject': `Bearer ${jwt(shop.secret, { ...claims, sub: 'u'.repeat(10_000), exp: now + 600 })}`,
    };
    const asUser = { authorization: `Bearer ${userToken}` };
    const asAdmin = { authorization: `Bearer ${adminToken}` };
    const json = { 'content-type': 'application/json' };
    const key = () => ({ 'idempotency-key': randomUUID() });

    const probes: Probe[] = [];
    const add = (p: Probe) => probes.push(p);
    const authed: [string, string, string, Record<string, string>?][] = [
      ['GET', cart.url, '/api/cart'],
      ['POST', cart.url, '/api/cart/items', json],
      ['DELETE', cart.url, '/api/cart'],
      ['POST', order.url, '/api/orders', { ...json, 'idempotency-key': randomUUID() }],
      ['GET', order.url, '/api/orders'],
      ['PUT', catalog.url, `/api/catalog/products/${String(phone.id)}`, json],
      ['POST', catalog.url, `/api/catalog/products/${String(phone.id)}/stock`, json],
      ['POST', catalog.url, '/api/catalog/products', json],
    ];
    for (const [method, base, path, headers] of authed) {
      for (const [what, authorization] of Object.entries(forged)) {
        add({
          name: `${method} ${path} with a token that is ${what}`,
          url: `${base}${path}`,
          method,
          headers: { ...headers, authorization },
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{"quantity":1}' }),
        });
      }
    }
    for (const id of badIds) {
      add({
        name: `product ${id}`,
        url: `${catalog.url}/api/catalog/products/${id}`,
        method: 'GET',
      });
      add({
        name: `order ${id}`,
        url: `${order.url}/api/orders/${id}`,
        method: 'GET',
        headers: asUser,
      });
      for (const method of ['PATCH', 'DELETE']) {
        add({
          name: `${method} cart item ${id}`,
          url: `${cart.url}/api/cart/items/${id}`,
          method,
          headers: { ...asUser, ...json },
          body: '{"quantity":1}',
        });
      }
      add({
        name: `PUT product ${id}`,
        url: `${catalog.url}/api/catalog/products/${id}`,
        method: 'PUT',
        headers: { ...asAdmin, ...json },
        body: '{"version":1,"name":"x"}',
      });
      add({
        name: `add product id ${id}`,
        url: `${cart.url}/api/cart/items`,
        method: 'POST',
        headers: { ...asUser, ...json },
        body: JSON.stringify({
          productId: decodeURIComponent(id.replace(/%(?![0-9A-F]{2})/gi, '')),
          quantity: 1,
        }),
      });
    }
    const queries = [
      'limit=-1',
      'limit=1e309',
      'limit=abc',
      'limit=99999999999999999999',
      'limit=1&limit=2',
      'cursor=garbage',
      'cursor=%00',
      `cursor=${'A'.repeat(5000)}`,
      'q=%00%00',
      `q=${'a'.repeat(5000)}`,
      'q[$ne]=1',
      'q=a&q=b',
      'category=..%2F..',
      'category[]=phones',
      'unknown=1',
    ];
    for (const query of queries) {
      add({
        name: `list products ?${query}`,
        url: `${catalog.url}/api/catalog/products?${query}`,
        method: 'GET',
      });
      add({
        name: `list orders ?${query}`,
        url: `${order.url}/api/orders?${query}`,
        method: 'GET',
        headers: asUser,
      });
    }
    const writes: [string, string, Record<string, string>, (n: unknown) => unknown][] = [
      ['POST', `${cart.url}/api/cart/items`, asUser, (n) => ({ productId: '801', quantity: n })],
      ['PATCH', `${cart.url}/api/cart/items/${String(phone.id)}`, asUser, (n) => ({ quantity: n })],
      [
        'PUT',
        `${catalog.url}/api/catalog/products/${String(phone.id)}`,
        asAdmin,
        (n) => ({ version: n, priceCents: n }),
      ],
      [
        'POST',
        `${catalog.url}/api/catalog/products/${String(phone.id)}/stock`,
        asAdmin,
        (n) => ({ delta: n }),
      ],
      [
        'POST',
        `${catalog.url}/api/catalog/products`,
        asAdmin,
        (n) => ({ sku: 'SKU-SWEEP', name: 'x', category: 'phones', priceCents: n, stock: n }),
      ],
    ];
    for (const [method, url, headers, body] of writes) {
      // 0 is a fine price and stock for a new product, −1 a fine write-off; not elsewhere.
      const fine = url.endsWith('/products') ? 0 : url.endsWith('/stock') ? -1 : undefined;
      for (const n of absurdNumbers.filter((v) => v !== fine)) {
        add({
          name: `${method} ${url} with ${JSON.stringify(n)}`,
          url,
          method,
          headers: { ...headers, ...json },
          body: JSON.stringify(body(n)),
        });
      }
      for (const raw of badBodies) {
        add({
          name: `${method} ${url} with body ${raw.slice(0, 40)}`,
          url,
          method,
          headers: { ...headers, ...json },
          body: raw,
        });
      }
      add({
        name: `${method} ${url} with an unknown field`,
        url,
        method,
        headers: { ...headers, ...json },
        body: JSON.stringify({ ...(body(1) as object), isAdmin: true }),
      });
      add({
        name: `${method} ${url} as text/plain`,
        url,
        method,
        headers: { ...headers, 'content-type': 'text/plain' },
        body: JSON.stringify(body(1)),
      });
    }
    const orderBodies = [
      ...badBodies,
      '{"paymentMethod":"bitcoin"}',
      '{"contact":{"email":"not-an-email"}}',
      '{"contact":{"phone":"12"}}',
      `{"shippingAddress":{"line1":"${'x'.repeat(5000)}"}}`,
      '{"shippingAddress":"Bengaluru"}',
      '{"unknown":true}',
    ];
    for (const raw of orderBodies) {
      add({
        name: `POST /api/orders with body ${raw.slice(0, 40)}`,
        url: `${order.url}/api/orders`,
        method: 'POST',
        headers: { ...asUser, ...json, ...key() },
        body: raw,
      });
    }
    for (const idempotencyKey of ['', 'short', 'x'.repeat(300), 'bad key!', 'ключ-ключ-ключ']) {
      add({
        name: `POST /api/orders with Idempotency-Key ${idempotencyKey.slice(0, 20)}`,
        url: `${order.url}/api/orders`,
        method: 'POST',
        headers: { ...asUser, ...json, 'idempotency-key': encodeURIComponent(idempotencyKey) },
        body: '{}',
      });
    }
    add({
      name: 'POST /api/orders without an Idempotency-Key',
      url: `${order.url}/api/orders`,
      method: 'POST',
      headers: { ...asUser, ...json },
      body: '{}',
    });
    const before = await snapshot();

    const failures: string[] = [];
    for (const probe of probes) {
      const res = await fetch(probe.url, {
        method: probe.method,
        headers: probe.headers ?? {},
        ...(probe.body === undefined ? {} : { body: probe.body }),
      });
      const type = res.headers.get('content-type') ?? '';
      const text = await res.text();
      if (res.status >= 500 || res.status < 400)
        failures.push(`${probe.name}: ${String(res.status)} ${text.slice(0, 200)}`);
      else if (!type.startsWith('application/problem+json'))
        failures.push(`${probe.name}: ${String(res.status)} as ${type}`);
    }

    assert.deepEqual(failures, [], `${String(failures.length)} of ${String(probes.length)} probes`);
    assert.deepEqual(await snapshot(), before);
  });
});
