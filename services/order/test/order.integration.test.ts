import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kafkaBrokers, localTopology } from '@mela/topology';
import { readTopic as reader, until } from '@mela/testkit';
import { OrderRepository } from '../src/adapters/order.repository.js';
import { startCheckout, type Checkout } from './support.js';

const phone = { id: 101, name: 'Festival Phone', priceCents: 1_999_900, stock: 20 };
const case_ = { id: 102, name: 'Phone Case', priceCents: 49_900, stock: 500 };

describe('placing an order', () => {
  let shop: Checkout;
  before(async () => {
    shop = await startCheckout([phone, case_]);
  });
  after(() => shop.close());

  it('when the cart holds products, then the order is placed, the cart is cleared and stock is taken', async () => {
    const user = `buyer-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, phone.id, 2);
    await shop.addToCart(user, case_.id, 1);
    const stockBefore = await shop.stock(phone.id);

    const placed = await shop.placeOrder(user);

    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body['status'], 'confirmed');
    assert.equal(placed.body['totalCents'], 2 * phone.priceCents + case_.priceCents);
    assert.equal(await shop.stock(phone.id), stockBefore - 2);
    const cart = await fetch(`${shop.cart.url}/api/cart`, {
      headers: { authorization: `Bearer ${await shop.token(user)}` },
    });
    assert.deepEqual(((await cart.json()) as { items: unknown[] }).items, []);
    const reservations = await shop.commerceRows('SELECT * FROM stock_reservations');
    assert.equal(reservations.length, 0, 'the reservation is consumed');
  });

  it('when the sweeper has taken the claim before the order commits, then the commit writes nothing and says so', async () => {
    const user = `late-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, case_.id, 1);
    const placed = await shop.placeOrder(user);
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const repository = new OrderRepository(shop.order.db, () => new Date(), shop.topic);
    const template = await repository.get(user, String(placed.body['id']));
    assert.ok(template);
    const key = randomUUID();
    const order = { ...template, id: await repository.nextOrderId() };
    assert.deepEqual(await repository.claim(user, key, 'hash', order.id), { claimed: true });
    // What the sweeper does to an attempt that outlived its reservation: it takes the claim.
    const reservation = { orderId: order.id, userId: user, idempotencyKey: key };
    assert.equal(await repository.settle(reservation), 'abandoned');

    const committed = await repository.commit(order, key, {
      eventId: randomUUID(),
      type: 'order.placed',
      version: 1,
      occurredAt: new Date().toISOString(),
      order: { ...order, items: [...order.items] },
      contact: order.contact,
    });

    assert.equal(committed, false);
    for (const where of ['orders WHERE id = ?', 'order_items WHERE order_id = ?'])
      assert.deepEqual(await shop.customerRows(`SELECT * FROM ${where}`, [order.id]), [], where);
  });

  it('when the owner asks for the order by id or lists orders, then it is there; anyone else gets 404', async () => {
    const user = `owner-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, case_.id, 3);
    const placed = await shop.placeOrder(user);
    const id = String(placed.body['id']);

    const mine = await fetch(`${shop.order.url}/api/orders/${id}`, {
      headers: { authorization: `Bearer ${await shop.token(user)}` },
    });
    const theirs = await fetch(`${shop.order.url}/api/orders/${id}`, {
      headers: { authorization: `Bearer ${await shop.token('someone-else')}` },
    });
    const list = await fetch(`${shop.order.url}/api/orders`, {
      headers: { authorization: `Bearer ${await shop.token(user)}` },
    });

    assert.equal(mine.status, 200);
    assert.deepEqual(await mine.json(), placed.body);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const listed = (await list.json()) as { orders: { id: string }[] };
    assert.deepEqual(
      listed.orders.map((o) => o.id),
      [id],
    );
  });

  it('when an order commits, then its event reaches the orders topic keyed by the user', async () => {
    const user = `evented-${randomUUID().slice(0, 8)}`;
    await shop.addToCart(user, case_.id, 1);
    const placed = await shop.placeOrder(user);
    const events = await readTopic(shop.topic);
    try {
      await until(
        () => events.seen().some((m) => m.value.order.id === placed.body['id']),
        'the event',
        15_000,
      );
      const event = events.seen().find((m) => m.value.order.id === placed.body['id']);
      assert.equal(event?.key, user);
      const pending = await shop.customerRows(
        'SELECT id FROM outbox WHERE published_at IS NULL AND parked_at IS NULL',
      );
      assert.equal(pending.length, 0);
    } finally {
      await events.stop();
    }
  });

  it('when Kafka refuses one outbox event for good, then it is parked and the events behind it on its shard are published', async () => {
    const user = `behind-poison-${randomUUID().slice(0, 8)}`;
    const poisonId = randomUUID();
    // A row ahead of the user's order on the same shard that no broker takes (2 MB > 1 MB).
    await shop.order.db.execute(
      { keyspace: 'customer', table: 'outbox', key: user },
      `INSERT INTO outbox (event_id, user_id, topic, event_key, event_type, payload, created_at)
       VALUES (?, ?, ?, ?, 'order.placed', ?, UTC_TIMESTAMP(3))`,
      [poisonId, user, shop.topic, user, JSON.stringify({ pad: 'x'.repeat(2_000_000) })],
    );
    await shop.addToCart(user, case_.id, 1);
    const placed = await shop.placeOrder(user);
    assert.equal(placed.status, 201);

    const events = await readTopic(shop.topic);
    try {
      await until(
        () => events.seen().some((m) => m.value.order.id === placed.body['id']),
        'the order behind the poison row',
        15_000,
      );
    } finally {
      await events.stop();
    }
    const [poison] = await shop.customerRows(
      'SELECT published_at, parked_at, park_reason FROM outbox WHERE event_id = ?',
      [poisonId],
    );
    assert.ok(poison);
    assert.equal(poison['published_at'], null);
    assert.notEqual(poison['parked_at'], null);
    assert.match(String(poison['park_reason']), /MESSAGE_TOO_LARGE/);
    // The relay measures its shards after the pass that parked the row, which may end a moment
    // after the order behind it reached the topic.
    await until(async () => {
      const gauge = await shop.order.platform.metrics.registry
        .getSingleMetric('outbox_parked_events')
        ?.get();
      return gauge?.values.reduce((sum, v) => sum + v.value, 0) === 1;
    }, 'the parked-events gauge to count the parked row');
  });

  it('when two replicas run the relay, then each shard has one leader, every event is published once, and a follower does not try to lead at every commit', async () => {
    const second = await shop.startOrder();
    const replicas = [shop.order, second];
    // A relay's statements in its sessions, per replica and shard (a follower's are its attempts
    // to take the lead: one new connection each).
    const sessionStatements = async () =>
      Promise.all(
        replicas.map(async (replica) => {
          const counter = await replica.platform.metrics.registry
            .getSingleMetric('shard_queries_total')
            ?.get();
          const perShard = new Map<string, number>();
          for (const v of counter?.values ?? []) {
            if (v.labels['route'] !== 'session' || v.labels['keyspace'] !== 'customer') continue;
            const shard = String(v.labels['shard']);
            perShard.set(shard, (perShard.get(shard) ?? 0) + v.value);
          }
          return perShard;
        }),
      );
    const before = await sessionStatements();
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const user = `replicated-${String(i)}-${randomUUID().slice(0, 6)}`;
      await shop.addToCart(user, case_.id, 1);
      const response = await fetch(`${(i % 2 === 0 ? shop.order : second).url}/api/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await shop.token(user)}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: '{}',
      });
      ids.push(((await response.json()) as { id: string }).id);
    }
    const events = await readTopic(shop.topic);
    try {
      await until(
        () => ids.every((id) => events.seen().some((m) => m.value.order.id === id)),
        'every event',
        15_000,
      );
      await until(
        async () =>
          (
            await shop.customerRows(
              'SELECT id FROM outbox WHERE published_at IS NULL AND parked_at IS NULL',
            )
          ).length === 0,
        'the outbox to be marked',
      );

      const eventIds = events.seen().map((m) => m.value.eventId);
      assert.equal(new Set(eventIds).size, eventIds.length, 'no event published twice');
      const after = await sessionStatements();
      const leaders = new Map<string, number>();
      for (const [r, replica] of replicas.entries()) {
        const gauge = await replica.platform.metrics.registry
          .getSingleMetric('outbox_relay_leader')
          ?.get();
        const leads = new Set<string>();
        for (const v of gauge?.values ?? []) {
          const shard = String(v.labels['shard']);
          leaders.set(shard, (leaders.get(shard) ?? 0) + v.value);
          if (v.value === 1) leads.add(shard);
        }
        // A follower tries every 2 s, whatever its replica commits (12 orders each here).
        for (const shard of ['-80', '80-'].filter((s) => !leads.has(s))) {
          const tries = (after[r]?.get(shard) ?? 0) - (before[r]?.get(shard) ?? 0);
          assert.ok(
            tries <= 3,
            `replica ${String(r)} tried to lead ${shard} ${String(tries)} times`,
          );
        }
      }
      assert.deepEqual(Object.fromEntries(leaders), { '-80': 1, '80-': 1 });
    } finally {
      await events.stop();
    }
  });
});

/** Reads a topic from the beginning with a consumer group of its own; values parsed. */
async function readTopic(topic: string) {
  const read = await reader(kafkaBrokers(localTopology()), topic);
  return {
    seen: () =>
      read.seen.map((m) => ({
        key: m.key,
        value: JSON.parse(m.value) as { eventId: string; order: { id: string } },
      })),
    stop: () => read.stop(),
  };
}
