import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { freePort, startService, until, type OwnMariaDb, type ServiceProcess } from '@mela/testkit';
import { ownCustomerShard, startCheckout, userOn, type Checkout } from './support.js';

const phone = { id: 601, name: 'Saga Phone', priceCents: 2_499_900, stock: 30 };
/** Settings that make the window between a durable charge and the commit wide, and sweeps quick. */
const sagaEnv = {
  PAYMENT_SANDBOX_LATENCY_MS: '1500',
  RESERVATION_TTL_SECONDS: '5',
  RESERVATION_SWEEP_INTERVAL_MS: '200',
};

describe('a charge is never left without an order or a refund', () => {
  let shop: Checkout;
  let shard80: OwnMariaDb;
  let shardMap: string;

  const charges = () =>
    shop.commerceRows('SELECT reference, amount_cents, state FROM sandbox_payments');
  const post = async (url: string, userId: string, key: string) =>
    fetch(`${url}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await shop.token(userId)}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: '{}',
    });
  /** Every charge is either captured by an order of the same amount or refunded. */
  const assertBalanced = async (orderIds: readonly string[]) => {
    const rows = await charges();
    const charged = rows.filter((r) => r['state'] === 'charged').map((r) => String(r['reference']));
    assert.deepEqual(charged.sort(), [...orderIds].sort(), JSON.stringify(rows));
  };

  before(async () => {
    shop = await startCheckout([phone]);
    ({ server: shard80, shardMap } = await ownCustomerShard(shop));
  });
  after(async () => {
    await shop.close();
    await shard80.stop();
  });

  it('when the buyer’s shard dies between the charge and the commit, then the sweeper refunds it once the shard is back, and the same key then orders', async () => {
    const order = await shop.startOrder({ ...sagaEnv, SHARD_MAP: shardMap });
    const user = userOn('80-');
    const key = randomUUID();
    const stockBefore = await shop.stock(phone.id);
    const chargesBefore = (await charges()).length;
    await shop.addToCart(user, phone.id, 2);

    const attempt = post(order.url, user, key);
    await until(async () => (await charges()).length > chargesBefore, 'the charge', 10_000);
    await shard80.kill();
    const failed = await attempt;
    await shard80.start();

    assert.equal(failed.status, 503, await failed.text());
    await until(
      async () =>
        (await charges()).every((r) => r['state'] === 'refunded') &&
        (await shop.stock(phone.id)) === stockBefore,
      'the refund and the units back',
      30_000,
    );
    const retried = await post(order.url, user, key);
    const body = (await retried.json()) as { id: string; totalCents: number };
    assert.equal(retried.status, 201, JSON.stringify(body));
    assert.equal(body.totalCents, 2 * phone.priceCents);
    await assertBalanced([body.id]);
    assert.equal(await shop.stock(phone.id), stockBefore - 2);
  });

  it('when the order process is killed between the charge and the commit, then a restarted replica refunds it, and the same key then orders', async () => {
    const env = shop.orderEnvironment(sagaEnv);
    const port = await freePort();
    let replica: ServiceProcess = await startService('order', port, env);
    const user = userOn('-80');
    const key = randomUUID();
    const stockBefore = await shop.stock(phone.id);
    const previouslyCaptured = (await charges())
      .filter((r) => r['state'] === 'charged')
      .map((r) => String(r['reference']));
    const chargesBefore = (await charges()).length;
    await shop.addToCart(user, phone.id, 1);

    const attempt = post(replica.url, user, key).catch((error: unknown) => error);
    await until(async () => (await charges()).length > chargesBefore, 'the charge', 10_000);
    await replica.kill();
    assert.ok((await attempt) instanceof Error, 'the request died with its process');
    replica = await startService('order', port, env);
    try {
      await until(
        async () =>
          (await charges()).filter((r) => r['state'] === 'charged').length ===
            previouslyCaptured.length && (await shop.stock(phone.id)) === stockBefore,
        'the refund and the units back',
        30_000,
      );
      const retried = await post(replica.url, user, key);
      const body = (await retried.json()) as { id: string };
      assert.equal(retried.status, 201, JSON.stringify(body));
      await assertBalanced([...previouslyCaptured, body.id]);
      const intents = await shop.customerRows(
        'SELECT state FROM payment_intents WHERE user_id = ? ORDER BY order_id',
        [user],
      );
      assert.deepEqual(
        intents.map((r) => r['state']),
        ['voided', 'captured'],
      );
    } finally {
      await replica.stop();
    }
  });
});
