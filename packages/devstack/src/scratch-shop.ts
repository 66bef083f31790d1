import { randomBytes } from 'node:crypto';
import { freePorts } from '@mela/toolchain';
import { cartRedisUrl, localTopology } from '@mela/topology';
import { createConnection } from 'mysql2/promise';
import { createAdmin, createTopicsAndWait } from '@mela/messaging';
import type { TestShards } from './scratch-shards.js';
import { startService, type ServiceProcess } from './service-process.js';

export interface TestProduct {
  readonly id: number;
  readonly name: string;
  readonly priceCents: number;
  readonly stock: number;
}

/** Writes products (in one category, `phones`) straight into the test's commerce database. */
export async function insertTestProducts(
  shards: TestShards,
  products: readonly TestProduct[],
): Promise<void> {
  const commerce = await createConnection({ uri: shards.url('commerce', '0') });
  try {
    await commerce.query("INSERT INTO categories (id, slug, name) VALUES (1, 'phones', 'Phones')");
    for (const p of products) {
      await commerce.query(
        `INSERT INTO products (id, sku, name, description, category_id, price_cents, stock)
         VALUES (?, ?, ?, 'A test product', 1, ?, ?)`,
        [p.id, `SKU-${String(p.id)}`, p.name, p.priceCents, p.stock],
      );
    }
  } finally {
    await commerce.end();
  }
}

/** An orders topic, its `.retry` and its `.dlq` of the test's own. */
export interface TestTopics {
  readonly topic: string;
  readonly retryTopic: string;
  readonly deadLetterTopic: string;
  /** Partitions of each of the three. */
  readonly partitions: number;
  drop(): Promise<void>;
}

export async function createTestTopics(brokers: readonly string[]): Promise<TestTopics> {
  const topic = `orders-t${randomBytes(4).toString('hex')}`;
  const retryTopic = `${topic}.retry`;
  const deadLetterTopic = `${topic}.dlq`;
  const partitions = 3;
  const admin = () => createAdmin({ brokers, clientId: 'mela-test', ssl: false });
  const creator = admin();
  try {
    await createTopicsAndWait(
      creator,
      [topic, retryTopic, deadLetterTopic].map((t) => ({ topic: t, numPartitions: partitions })),
    );
  } finally {
    await creator.close();
  }
  return {
    topic,
    retryTopic,
    deadLetterTopic,
    partitions,
    async drop() {
      const dropper = admin();
      await dropper
        .deleteTopics({ topics: [topic, retryTopic, deadLetterTopic] })
        .catch(() => undefined);
      await dropper.close();
    },
  };
}

/**
 * Catalog and cart as processes over `env` (the test's databases, Redis, secret), each with
 * Redis keys under `keyPrefix`: what an order needs in front of it.
 */
export async function startCatalogAndCart(
  env: Readonly<Record<string, string>>,
  keyPrefix: string,
): Promise<{
  readonly catalog: ServiceProcess;
  readonly cart: ServiceProcess;
  /** Where these carts are kept: what an order service needs to read them. */
  readonly carts: { readonly CART_REDIS_URL: string; readonly CART_KEY_PREFIX: string };
}> {
  const [catalogPort = 0, cartPort = 0] = await freePorts(2);
  const catalog = await startService('catalog', catalogPort, {
    ...env,
    CACHE_KEY_PREFIX: `${keyPrefix}catalog:`,
  });
  const carts = {
    // The carts' own Redis, as local mode and the cluster run it (a test may name another).
    CART_REDIS_URL: env['CART_REDIS_URL'] ?? cartRedisUrl(localTopology()),
    CART_KEY_PREFIX: `${keyPrefix}cart:`,
  };
  const cart = await startService('cart', cartPort, {
    ...env,
    ...carts,
    CATALOG_URL: catalog.url,
  });
  return { catalog, cart, carts };
}
