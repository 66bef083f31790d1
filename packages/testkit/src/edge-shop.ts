import { randomBytes } from 'node:crypto';
import {
  createTestShards,
  createTestTopics,
  insertTestProducts,
  startService,
  type ServiceProcess,
  type TestProduct,
  type TestShards,
  type TestTopics,
} from '@mela/devstack';
import { startOwnEdge, type EdgeUpstream, type OwnEdge } from '@mela/edge';
import { cartRedisUrl, kafkaBrokers, localTopology, redisUrl } from '@mela/topology';
import { deadPorts } from './network.js';

type ShopService = 'catalog' | 'cart' | 'order' | 'notification';

/**
 * Catalog, cart and order as processes, several replicas each, behind a real nginx edge (and
 * the notification consumers, which the edge does not route to, when asked for).
 */
export interface ShopBehindEdge {
  /** The edge: storefront, API, cached static assets. */
  readonly url: string;
  readonly edge: OwnEdge;
  readonly shards: TestShards;
  readonly replicas: Readonly<Record<ShopService, readonly ServiceProcess[]>>;
  /** The orders topic of the test's own (when order runs). */
  readonly topics: TestTopics | undefined;
  /** Starts replica `index` of `service` again on its port (after the test killed it). */
  restart(service: ShopService, index: number): Promise<void>;
  close(): Promise<void>;
}

export interface ShopBehindEdgeOptions {
  readonly products: readonly TestProduct[];
  /** @default ['catalog', 'cart', 'order']; notification needs SMTP_URL in `env` */
  readonly services?: readonly ShopService[];
  /** @default 2 */
  readonly replicas?: number;
  /** Variables for every service (over the test's databases, Redis prefixes and topics). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * More variables, once the test's databases exist (e.g. a SHARD_MAP moving one shard to a
   * server the test owns).
   */
  /** A Kafka of the test's own (its topics are made there). @default the shared broker */
  readonly kafkaBrokers?: readonly string[];
  readonly prepare?: (shards: TestShards) => Promise<Readonly<Record<string, string>>>;
}

/**
 * The shop as `npm start` runs it, on the test's own databases, topics and Redis prefixes:
 * each service in `replicas` processes, the edge in front (services call each other through
 * its internal balancers), dev tokens on, rate limits on and keyed by the client behind the edge.
 */
export async function startShopBehindEdge(options: ShopBehindEdgeOptions): Promise<ShopBehindEdge> {
  const topology = localTopology();
  const services = options.services ?? ['catalog', 'cart', 'order'];
  const count = options.replicas ?? 2;
  const brokers = options.kafkaBrokers ?? kafkaBrokers(topology);
  const shards = await createTestShards('edge');
  const started: ServiceProcess[] = [];
  let topics: TestTopics | undefined;
  let edge: OwnEdge | undefined;
  const close = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await edge?.stop();
    await topics?.drop();
    await shards.drop();
  };
  try {
    await insertTestProducts(shards, options.products);
    if (services.includes('order') || services.includes('notification'))
      topics = await createTestTopics(brokers);
    // Ports for the replicas of the services this shop runs; the edge points the others nowhere.
    const ports = {} as Record<ShopService, number[]>;
    const upstreams: Partial<Record<ShopService, EdgeUpstream & { internal: boolean }>> = {};
    const free = await deadPorts(services.length * count);
    for (const [index, name] of services.entries()) {
      ports[name] = free.slice(index * count, (index + 1) * count);
      if (name === 'notification') continue;
      upstreams[name] = {
        servers: ports[name].map((port) => `127.0.0.1:${String(port)}`),
        loadBalancing: { algorithm: name === 'order' ? 'least-conn' : 'round-robin' },
        internal: true,
      };
    }
    edge = await startOwnEdge(upstreams);
    const prefix = `test:edge:${randomBytes(4).toString('hex')}:`;
    const env = {
      AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
      AUTH_DEV_TOKENS: 'true',
      RATE_LIMIT_CLIENT_SECRET: randomBytes(32).toString('hex'),
      REDIS_URL: redisUrl(topology),
      CART_REDIS_URL: cartRedisUrl(topology),
      SHARD_MAP: shards.shardMap,
      TRUST_PROXY_HOPS: '1',
      RATE_LIMIT_KEY_PREFIX: `${prefix}rl:`,
      CACHE_KEY_PREFIX: `${prefix}catalog:`,
      CART_KEY_PREFIX: `${prefix}cart:`,
      STOCK_GATE_KEY_PREFIX: `${prefix}gate:`,
      ...(edge.internal.catalog ? { CATALOG_URL: `http://${edge.internal.catalog}` } : {}),
      KAFKA_BROKERS: brokers.join(','),
      ...(topics ? { ORDERS_TOPIC: topics.topic } : {}),
      // A consumer group of its own: sharing one with a running shop would mix the two.
      NOTIFY_GROUP_ID: `${prefix}notification`,
      ...options.env,
      ...(await options.prepare?.(shards)),
    };
    const replicas = { catalog: [], cart: [], order: [], notification: [] } as Record<
      ShopService,
      ServiceProcess[]
    >;
    for (const name of services) {
      replicas[name] = await Promise.all(
        ports[name].map(async (port) => {
          const service = await startService(name, port, env);
          started.push(service);
          return service;
        }),
      );
    }
    const restart = async (service: ShopService, index: number) => {
      const port = ports[service][index];
      if (port === undefined) throw new Error(`${service} has no replica ${String(index)}`);
      const again = await startService(service, port, env);
      started.push(again);
      replicas[service][index] = again;
    };
    return { url: edge.url, edge, shards, replicas, topics, restart, close };
  } catch (error) {
    await close();
    throw error;
  }
}
