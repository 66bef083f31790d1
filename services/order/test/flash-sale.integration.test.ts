import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startCheckout, type Checkout } from './support.js';

const phone = { id: 301, name: 'Flash Sale Phone', priceCents: 999_900, stock: 100 };
const buyers = 5000;

/** POST over a keep-alive agent with many sockets: thousands of requests in flight at once. */
function post(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const parsed = JSON.parse(body) as { code?: string };
        resolve({ status: res.statusCode ?? 0, ...(parsed.code ? { code: parsed.code } : {}) });
      });
    });
    req.on('error', reject);
    req.end('{}');
  });
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('a flash sale', () => {
  let shop: Checkout;
  before(async () => {
    shop = await startCheckout([phone]);
  });
  after(() => shop.close());

  it(`when ${buyers} buyers race for ${phone.stock} phones, then exactly ${phone.stock} orders succeed and the rest are sold out`, async () => {
    const users = Array.from({ length: buyers }, (_, i) => `fan-${i}-${randomUUID().slice(0, 6)}`);
    await inBatches(users, 50, (user) => shop.addToCart(user, phone.id, 1));
    const tokens = await Promise.all(users.map((u) => shop.token(u)));
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });

    const answers = await Promise.all(
      tokens.map((token) =>
        post(agent, `${shop.order.url}/api/orders`, {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        }),
      ),
    );
    agent.destroy();

    const tally = new Map<string, number>();
    for (const a of answers) {
      const k = `${a.status} ${a.code ?? ''}`.trim();
      tally.set(k, (tally.get(k) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(tally), {
      '201': phone.stock,
      '409 sold_out': buyers - phone.stock,
    });
    assert.equal(await shop.stock(phone.id), 0);
    const orders = await shop.customerRows('SELECT COUNT(*) AS n FROM orders');
    assert.equal(
      orders.reduce((sum, r) => sum + Number(r['n']), 0),
      phone.stock,
    );
    const sold = await shop.customerRows(
      'SELECT COALESCE(SUM(quantity), 0) AS n FROM order_items WHERE product_id = ?',
      [phone.id],
    );
    assert.equal(
      sold.reduce((sum, r) => sum + Number(r['n']), 0),
      phone.stock,
    );
  });
});
