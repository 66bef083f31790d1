/** One MariaDB instance: a shard of a keyspace, on its own port and data directory. */
export interface MysqlInstance {
  /** Instance name, also the data directory's name, e.g. `customer-80-`. */
  readonly name: string;
  readonly keyspace: string;
  /** Vitess shard name: `0` for an unsharded keyspace, a keyrange such as `-80` otherwise. */
  readonly shard: string;
  readonly port: number;
}

/** Where the local dependencies listen; the same shape the Kubernetes manifests describe. */
export interface LocalTopology {
  readonly host: string;
  /**
   * Two Redis servers, both behind a password: `port` holds what may be lost or evicted (the
   * cache, rate-limit counters, the stock gate: least recently used keys go when memory is
   * full), `cartsPort` what must survive (carts: every write in the append-only file before it
   * is acknowledged, never evicted).
   */
  readonly redis: { readonly port: number; readonly cartsPort: number; readonly password: string };
  readonly mysql: {
    readonly user: string;
    readonly password: string;
    readonly instances: readonly MysqlInstance[];
  };
  readonly kafka: { readonly port: number; readonly controllerPort: number };
  /** Kafka topics the project creates (Strimzi KafkaTopics in a cluster). */
  readonly topics: readonly { readonly name: string; readonly partitions: number }[];
  /** The services: each is reached at its port (the load balancer), served by its replicas. */
  readonly services: Readonly<Record<ServiceName, ServiceTopology>>;
  /** The edge: the one public address (storefront, API, cached static assets) in local mode. */
  readonly edge: { readonly port: number };
  /** The development mailbox: where local mode's email (SMTP) and SMS/push (webhooks) land. */
  readonly mailbox: { readonly smtpPort: number; readonly httpPort: number };
  /** Prometheus, scraping every replica and evaluating Mela's rules, in local mode. */
  readonly prometheus: { readonly port: number };
  /**
   * Jaeger (all-in-one, traces in memory): the services send spans to `otlpPort` (OTLP over
   * HTTP), people and tests read them at `uiPort` (the UI and its API); `grpcPort` is its query
   * API's other listener, on loopback too.
   */
  readonly jaeger: {
    readonly otlpPort: number;
    readonly uiPort: number;
    readonly grpcPort: number;
  };
}

/**
 * How a load balancer spreads requests over a service's replicas:
 * - `round-robin`: in turn — for uniform, cheap requests;
 * - `least-conn`: to the replica with the fewest requests in flight — for uneven request times;
 * - `ip-hash`: by the client's address, so a client keeps its replica while the set is stable;
 * - `weighted`: round robin in proportion to `weights` (one per replica), e.g. bigger machines.
 */
export const loadBalancingAlgorithms = [
  'round-robin',
  'least-conn',
  'ip-hash',
  'weighted',
] as const;
export type LoadBalancingAlgorithm = (typeof loadBalancingAlgorithms)[number];

export interface LoadBalancing {
  readonly algorithm: LoadBalancingAlgorithm;
  /** One positive weight per replica; only for `weighted`. */
  readonly weights?: readonly number[];
}

export interface ServiceTopology {
  /** Where the service is reached: the load balancer in front of its replicas. */
  readonly port: number;
  readonly replicas: number;
  readonly loadBalancing: LoadBalancing;
}

/** Mela's services. */
export const serviceNames = ['catalog', 'cart', 'order', 'notification'] as const;
export type ServiceName = (typeof serviceNames)[number];

/**
 * The services with a public API: the edge routes shoppers to them, and the API reference
 * (`/api/docs/`) shows each one's OpenAPI document. The notification service has none.
 */
export const apiServices: readonly ServiceName[] = ['catalog', 'cart', 'order'];

type Env = Readonly<Record<string, string | undefined>>;

/** An integer variable from `min` to `max`, else `fallback`; a bad value names the variable. */
function intFrom(env: Env, key: string, fallback: number, min: number, max: number, what: string) {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${key} must be ${what}, got "${raw}"`);
  }
  return value;
}

const portFrom = (env: Env, key: string, fallback: number) =>
  intFrom(env, key, fallback, 1, 65535, 'a TCP port');

const replicasFrom = (env: Env, key: string, fallback: number) =>
  intFrom(env, key, fallback, 1, 9, 'a replica count from 1 to 9');

/** Parses `round-robin`, `least-conn`, `ip-hash` or `weighted:3,1` (one weight per replica). */
export function parseLoadBalancing(
  raw: string,
  replicas: number,
  key = 'load balancing',
): LoadBalancing {
  const [algorithm, weightList] = raw.split(':', 2);
  const known = loadBalancingAlgorithms.find((a) => a === algorithm);
  if (known === undefined) {
    throw new Error(
      `${key} must be one of ${loadBalancingAlgorithms.join(', ')} (weighted as weighted:3,1), got "${raw}"`,
    );
  }
  if (known !== 'weighted') {
    if (weightList !== undefined)
      throw new Error(`${key}: only weighted takes weights, got "${raw}"`);
    return { algorithm: known };
  }
  const weights = (weightList ?? '').split(',').map(Number);
  if (
    weights.length !== replicas ||
    weights.some((w) => !Number.isInteger(w) || w < 1 || w > 100)
  ) {
    throw new Error(
      `${key}: weighted needs one weight from 1 to 100 per replica (${replicas}), got "${raw}"`,
    );
  }
  return { algorithm: 'weighted', weights };
}

/**
 * One service's entry: `MELA_<NAME>_PORT`, `MELA_<NAME>_REPLICAS` (else `MELA_REPLICAS`, else 2)
 * and `MELA_<NAME>_LB` (else its default algorithm).
 */
function serviceFrom(
  env: Env,
  name: ServiceName,
  port: number,
  algorithm: LoadBalancingAlgorithm,
): ServiceTopology {
  const upper = name.toUpperCase();
  const replicas = replicasFrom(
    env,
    `MELA_${upper}_REPLICAS`,
    replicasFrom(env, 'MELA_REPLICAS', 2),
  );
  const lbKey = `MELA_${upper}_LB`;
  return {
    port: portFrom(env, `MELA_${upper}_PORT`, port),
    replicas,
    loadBalancing: parseLoadBalancing(env[lbKey] || algorithm, replicas, lbKey),
  };
}

/**
 * The ports of a service's replicas in local mode: the service's port plus 100, 200, …
 * (catalog 3001 → 3101, 3201), so each replica is easy to find and to kill.
 */
export function replicaPorts(service: ServiceTopology): number[] {
  return Array.from({ length: service.replicas }, (_, i) => service.port + 100 * (i + 1));
}

/**
 * The local topology. Ports avoid the usual defaults (6379, 3306, 9092) so a developer's own
 * servers do not collide with Mela's; each can be moved with a `MELA_*_PORT` variable. Every
 * server listens on `MELA_HOST` (default 127.0.0.1; the local cluster's data layer listens on
 * its node's bridge address, where pods reach it).
 * Default shards: `commerce` unsharded (`0`), `customer` in two keyranges (`-80`, `80-`).
 */
export function localTopology(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LocalTopology {
  const mysqlBase = portFrom(env, 'MELA_MYSQL_BASE_PORT', 3407);
  const host = env['MELA_HOST'] || '127.0.0.1';
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    throw new Error(`MELA_HOST must be an IPv4 address of this machine, got "${host}"`);
  }
  return {
    host,
    redis: {
      port: portFrom(env, 'MELA_REDIS_PORT', 6390),
      cartsPort: portFrom(env, 'MELA_CART_REDIS_PORT', 6391),
      // Local mode's servers listen on this machine only (loopback, or the local cluster's
      // bridge), like the MySQL shards' `mela`/`mela`.
      password: 'mela-local',
    },
    mysql: {
      user: 'mela',
      password: 'mela',
      instances: [
        { name: 'commerce-0', keyspace: 'commerce', shard: '0', port: mysqlBase },
        { name: 'customer--80', keyspace: 'customer', shard: '-80', port: mysqlBase + 1 },
        { name: 'customer-80-', keyspace: 'customer', shard: '80-', port: mysqlBase + 2 },
      ],
    },
    kafka: {
      port: portFrom(env, 'MELA_KAFKA_PORT', 9192),
      controllerPort: portFrom(env, 'MELA_KAFKA_CONTROLLER_PORT', 9193),
    },
    topics: [
      { name: 'orders', partitions: portFrom(env, 'MELA_ORDERS_PARTITIONS', 6) },
      { name: 'orders.retry', partitions: portFrom(env, 'MELA_ORDERS_PARTITIONS', 6) },
      { name: 'orders.dlq', partitions: portFrom(env, 'MELA_ORDERS_PARTITIONS', 6) },
    ],
    // Cached, uniform reads go round robin; checkout's request times vary (payment, locks),
    // so the order service sends each request to the least busy replica.
    services: {
      catalog: serviceFrom(env, 'catalog', 3001, 'round-robin'),
      cart: serviceFrom(env, 'cart', 3002, 'round-robin'),
      order: serviceFrom(env, 'order', 3003, 'least-conn'),
      notification: serviceFrom(env, 'notification', 3004, 'round-robin'),
    },
    edge: { port: portFrom(env, 'MELA_EDGE_PORT', 8080) },
    mailbox: {
      smtpPort: portFrom(env, 'MELA_MAILBOX_SMTP_PORT', 2525),
      httpPort: portFrom(env, 'MELA_MAILBOX_HTTP_PORT', 3025),
    },
    prometheus: { port: portFrom(env, 'MELA_PROMETHEUS_PORT', 9095) },
    jaeger: {
      otlpPort: portFrom(env, 'MELA_JAEGER_OTLP_PORT', 4328),
      uiPort: portFrom(env, 'MELA_JAEGER_UI_PORT', 16696),
      grpcPort: portFrom(env, 'MELA_JAEGER_GRPC_PORT', 16695),
    },
  };
}

/**
 * What a Redis is for: `cache` holds what may go (the catalog cache, rate-limit counters, the
 * stock gate), `carts` what must not (shoppers' carts).
 */
export type RedisRole = 'cache' | 'carts';

/**
 * The persistence and eviction each role needs, as redis-server flags — the same in local mode
 * and in the cluster. The cache evicts the least recently used keys when full (a full cache
 * must never refuse checkout's limiter) and keeps nothing on disk; carts are written to the
 * append-only file before each write is acknowledged (a crash loses no acknowledged cart) and
 * are never evicted (a full store refuses writes, which the cart answers as 503).
 */
export const redisRoleFlags: Readonly<Record<RedisRole, readonly string[]>> = {
  cache: ['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'],
  carts: ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'],
};

/** The local port of a Redis role. */
export function redisPort(topology: LocalTopology, role: RedisRole): number {
  return role === 'cache' ? topology.redis.port : topology.redis.cartsPort;
}

function redisRoleUrl(topology: LocalTopology, role: RedisRole): string {
  const { password } = topology.redis;
  return `redis://:${password}@${topology.host}:${String(redisPort(topology, role))}`;
}

/** The OTLP/HTTP base URL the local services send their spans to (Jaeger's receiver). */
export function otlpEndpoint(topology: LocalTopology): string {
  return `http://${topology.host}:${String(topology.jaeger.otlpPort)}`;
}

/** `redis://:password@host:port` of the local Redis for the cache, limits and the stock gate. */
export function redisUrl(topology: LocalTopology): string {
  return redisRoleUrl(topology, 'cache');
}

/** `redis://:password@host:port` of the local Redis that keeps carts. */
export function cartRedisUrl(topology: LocalTopology): string {
  return redisRoleUrl(topology, 'carts');
}

/** `mysql://user:password@host:port/database` of one instance. */
export function mysqlUrl(topology: LocalTopology, instance: MysqlInstance, database = ''): string {
  const { user, password } = topology.mysql;
  return `mysql://${user}:${password}@${topology.host}:${instance.port}/${database}`;
}

/** The bootstrap servers of the local Kafka. */
export function kafkaBrokers(topology: LocalTopology): string[] {
  return [`${topology.host}:${topology.kafka.port}`];
}

/** The shard map of the local topology: `{ keyspace: { shard: url } }`, as the router reads it. */
export function localShardMap(topology: LocalTopology): Record<string, Record<string, string>> {
  const map: Record<string, Record<string, string>> = {};
  for (const instance of topology.mysql.instances) {
    map[instance.keyspace] = {
      ...map[instance.keyspace],
      [instance.shard]: mysqlUrl(topology, instance, instance.keyspace),
    };
  }
  return map;
}

/**
 * The network of the local cluster (`npm run cluster:local`), which exists only on this machine:
 * a bridge whose address is the node's IP and the pods' gateway, the pods' range on it, the
 * service range routed to it, and the data host — a network namespace on the same bridge where
 * the data layer runs outside the cluster, above the range the pods' IPAM hands out.
 */
export interface LocalClusterNetwork {
  readonly bridge: string;
  /** The bridge's address: the node's InternalIP, the API server's, the pods' gateway. */
  readonly nodeIp: string;
  readonly podCidr: string;
  /** The last address the pods' IPAM hands out. */
  readonly podRangeEnd: string;
  readonly serviceCidr: string;
  /** The `kubernetes` Service's ClusterIP, and the cluster DNS's. */
  readonly kubernetesServiceIp: string;
  readonly dnsServiceIp: string;
  /** The data host's address (Redis, the MariaDB shards, Kafka, the mailbox). */
  readonly dataHost: string;
}

export const localClusterNetwork: LocalClusterNetwork = {
  bridge: 'mela0',
  nodeIp: '10.244.0.1',
  podCidr: '10.244.0.0/24',
  podRangeEnd: '10.244.0.200',
  serviceCidr: '10.96.0.0/16',
  kubernetesServiceIp: '10.96.0.1',
  dnsServiceIp: '10.96.0.10',
  dataHost: '10.244.0.250',
};
