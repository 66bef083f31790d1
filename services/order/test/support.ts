import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createDevTokenIssuer } from '@mela/platform';
import {
  createTestShards,
  createTestTopics,
  insertTestProducts,
  startCatalogAndCart,
  startOwnMariaDb,
  type OwnMariaDb,
  type ServiceProcess,
  type TestProduct,
  type TestShards,
} from '@mela/testkit';
import { parseShardSet, rangeFor, xxhashVindex } from '@mela/sharding';
import { kafkaBrokers, localTopology, redisUrl } from '@mela/topology';
import { createConnection } from 'mysql2/promise';
import { loadOrderConfig } from '../src/config.js';
import { buildOrder, type OrderApp } from '../src/service.js';

const topology = localTopology();
const customerShards = parseShardSet(['-80', '80-']);

/** The customer shard a user's rows live on (xxhash of the user id, as the VSchema shards). */
export function shardOf(userId: string): string {
  return rangeFor(customerShards, xxhashVindex.keyspaceId(userId)).name;
}

/** A fresh user id (`<prefix>-<random>`) whose rows live on `shard`. */
export function userOn(shard: '-80' | '80-', prefix = 'shopper'): string {
  for (;;) {
    const id = `${prefix}-${randomUUID().slice(0, 8)}`;
    if (shardOf(id) === shard) return id;
  }
}

/**
 * A whole checkout of the test's own: databases on every shard, its own Kafka topics and
 * Redis key prefixes, catalog and cart as real processes, and the order service in-process
 * so the test can look inside it.
 */
export interface Checkout {
  readonly shards: TestShards;
  readonly secret: string;
  readonly topic: string;
  readonly catalog: ServiceProcess;
  readonly cart: ServiceProcess;
  readonly order: OrderApp & { readonly url: string };
  token(userId: string, roles?: string[]): Promise<string>;
  /** Adds a product to a user's cart through the cart API. */
  addToCart(userId: string, productId: number, quantity?: number): Promise<void>;
  /** `POST /api/orders` as the user. */
  placeOrder(
    userId: string,
    key?: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  stock(productId: number): Promise<number>;
  /** Rows of a table across both customer shards. */
  customerRows(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  commerceRows(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Builds another order service over the same databases (a second replica, or other settings). */
  startOrder(env?: Record<string, string>): Promise<OrderApp & { readonly url: string }>;
  /** The order service's environment on this shop, with `env` over it (for a process of its own). */
  orderEnvironment(env?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/**
 * `customer/80-` on a MariaDB server of the test's own (migrated like the others), so the test
 * can kill that shard for real without touching the servers other tests share: the server,
 * and the shop's `SHARD_MAP` with that one shard moved there.
 */
export async function ownCustomerShard(
  shop: Checkout,
): Promise<{ readonly server: OwnMariaDb; readonly shardMap: string }> {
  const server = await startOwnMariaDb();
  await server.createKeyspaceDatabase(shop.shards.database, 'customer');
  const map = JSON.parse(shop.shards.shardMap) as Record<string, Record<string, string>>;
  map['customer'] = { ...map['customer'], '80-': server.url(shop.shards.database) };
  return { server, shardMap: JSON.stringify(map) };
}

export async function startCheckout(
  products: readonly TestProduct[],
  orderEnv: Record<string, string> = {},
): Promise<Checkout> {
  const shards = await createTestShards('order');
  const secret = randomBytes(32).toString('hex');
  const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });
  const suffix = randomBytes(4).toString('hex');
  const topics = await createTestTopics(kafkaBrokers(topology));
  const { topic } = topics;
  await insertTestProducts(shards, products);
  const commerce = await createConnection({ uri: shards.url('commerce', '0') });
  const customer = await Promise.all(
    ['-80', '80-'].map((shard) => createConnection({ uri: shards.url('customer', shard) })),
  );

  const common = {
    AUTH_JWT_SECRET: secret,
    REDIS_URL: redisUrl(topology),
    SHARD_MAP: shards.shardMap,
    RATE_LIMIT: 'false',
    STOCK_CHANGES_CHANNEL: `test:order:${suffix}:stock-changed`,
  };
  const { catalog, cart, carts } = await startCatalogAndCart(common, `test:order:${suffix}:`);

  const orders: (OrderApp & { url: string })[] = [];
  const orderEnvironment = (env: Record<string, string> = {}) => ({
    ...common,
    ...carts,
    KAFKA_BROKERS: kafkaBrokers(topology).join(','),
    ORDERS_TOPIC: topic,
    STOCK_GATE_KEY_PREFIX: `test:order:${suffix}:gate:`,
    PAYMENT_SANDBOX_LATENCY_MS: '5',
    OUTBOX_POLL_MS: '50',
    ...orderEnv,
    ...env,
  });
  const startOrder = async (env: Record<string, string> = {}) => {
    const app = buildOrder(
      loadOrderConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
        ...orderEnvironment(env),
      }),
    );
    if (app.redis.status !== 'ready') await once(app.redis, 'ready');
    const address = await app.service.start();
    const running = { ...app, url: `http://127.0.0.1:${address.port}` };
    orders.push(running);
    return running;
  };
  const order = await startOrder();
  const token = (userId: string, roles = ['user']) => issuer.issue({ userId, roles });

  return {
    shards,
    secret,
    topic,
    catalog,
    cart,
    order,
    token,
    async addToCart(userId, productId, quantity = 1) {
      const response = await fetch(`${cart.url}/api/cart/items`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await token(userId)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ productId: String(productId), quantity }),
      });
      if (response.status !== 201)
        throw new Error(`add to cart: ${response.status} ${await response.text()}`);
      await response.body?.cancel();
    },
    async placeOrder(userId, key = randomUUID(), body = {}) {
      const response = await fetch(`${order.url}/api/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await token(userId)}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async stock(productId) {
      const [rows] = await commerce.query('SELECT stock FROM products WHERE id = ?', [productId]);
      return Number((rows as { stock: number }[])[0]?.stock);
    },
    async customerRows(sql, params = []) {
      const results = await Promise.all(customer.map((c) => c.query(sql, params)));
      return results.flatMap(([rows]) => rows as Record<string, unknown>[]);
    },
    async commerceRows(sql, params = []) {
      const [rows] = await commerce.query(sql, params);
      return rows as Record<string, unknown>[];
    },
    startOrder,
    orderEnvironment,
    async close() {
      for (const o of orders) await o.service.stop();
      await cart.stop();
      await catalog.stop();
      await commerce.end();
      for (const c of customer) await c.end();
      await topics.drop();
      await shards.drop();
    },
  };
}
