import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StockLedger } from '@mela/stock';
import { metricTotal, until } from '@mela/testkit';
import { startCheckout, type Checkout } from './support.js';

const phone = { id: 501, name: 'Restock Phone', priceCents: 1_499_900, stock: 10 };
const earbuds = { id: 502, name: 'Cached Earbuds', priceCents: 199_900, stock: 40 };

describe('stock has one writer, and every change is relative', () => {
  let shop: Checkout;
  let ledger: StockLedger;
  let admin: string;

  const catalogProduct = async (id: number) => {
    const res = await fetch(`${shop.catalog.url}/api/catalog/products/${String(id)}`);
    return (await res.json()) as { stock: number; version: number };
  };
  const asAdmin = (method: string, path: string, body: unknown) =>
    fetch(`${shop.catalog.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    shop = await startCheckout([phone, earbuds]);
    ledger = new StockLedger({ db: shop.order.db, clock: () => new Date() });
    admin = await shop.token('stock-admin', ['user', 'admin']);
  });
  after(() => shop.close());

  it('when an admin restocks while a reservation is open and it is then released, then stock is what was there plus the restock', async () => {
    const orderId = String(Date.now());
    const reserved = await ledger.reserve({
      orderId,
      userId: 'buyer',
      idempotencyKey: randomUUID(),
      lines: [{ productId: String(phone.id), quantity: 3 }],
      expiresAt: new Date(Date.now() + 60_000),
    });
    assert.deepEqual(reserved, { ok: true });

    const restocked = await asAdmin('POST', `/api/catalog/products/${String(phone.id)}/stock`, {
      delta: 5,
    });
    const overwrite = await asAdmin('PUT', `/api/catalog/products/${String(phone.id)}`, {
      version: (await catalogProduct(phone.id)).version,
      stock: 20,
    });
    await ledger.release(orderId);

    assert.equal(restocked.status, 200, await restocked.text());
    assert.equal(overwrite.status, 400);
    assert.equal(await shop.stock(phone.id), phone.stock + 5);
  });

  it('when a write-off is larger than the units left, then 409 and stock is unchanged', async () => {
    const before = await shop.stock(phone.id);

    const res = await asAdmin('POST', `/api/catalog/products/${String(phone.id)}/stock`, {
      delta: -(before + 1),
    });

    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { code: string }).code, 'insufficient_stock');
    assert.equal(await shop.stock(phone.id), before);
  });

  it('when an order takes units, then the catalog stops showing its cached count', async () => {
    const shown = await catalogProduct(earbuds.id);
    // Read until a read is answered from the cache, so the count is cached before the order.
    const hits = () => metricTotal([shop.catalog], 'cache_requests_total', { result: 'hit' });
    const hitsBefore = await hits();
    await until(
      async () =>
        (await catalogProduct(earbuds.id)).stock === shown.stock && (await hits()) > hitsBefore,
      'a cached read of the product',
      5000,
    );
    const buyer = `earbuds-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(buyer, earbuds.id, 2);

    const placed = await shop.placeOrder(buyer);

    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await until(
      async () => (await catalogProduct(earbuds.id)).stock === shown.stock - 2,
      'the catalog to show the order',
      5000,
    );
  });
});
