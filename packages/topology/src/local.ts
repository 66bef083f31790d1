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
  readonly redis: { readonly port: number };
  readonly mysql: {
    readonly user: string;
    readonly password: string;
    readonly instances: readonly MysqlInstance[];
  };
  readonly kafka: { readonly port: number; readonly controllerPort: number };
  /** Kafka topics the project creates (Strimzi KafkaTopics in a cluster). */
  readonly topics: readonly { readonly name: string; readonly partitions: number }[];
  /** The services, each on its own port in local mode. */
  readonly services: Readonly<Record<ServiceName, { readonly port: number }>>;
  /** The development mailbox: where local mode's email (SMTP) and SMS/push (webhooks) land. */
  readonly mailbox: { readonly smtpPort: number; readonly httpPort: number };
}

/** Mela's services. */
export const serviceNames = ['catalog', 'cart', 'order', 'notification'] as const;
export type ServiceName = (typeof serviceNames)[number];

function portFrom(
  env: Readonly<Record<string, string | undefined>>,
  key: string,
  fallback: number,
) {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${key} must be a TCP port, got "${raw}"`);
  }
  return port;
}

/**
 * The local topology. Ports avoid the usual defaults (6379, 3306, 9092) so a developer's own
 * servers do not collide with Mela's; each can be moved with a `MELA_*_PORT` variable.
 * Default shards: `commerce` unsharded (`0`), `customer` in two keyranges (`-80`, `80-`).
 */
export function localTopology(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LocalTopology {
  const mysqlBase = portFrom(env, 'MELA_MYSQL_BASE_PORT', 3407);
  return {
    host: '127.0.0.1',
    redis: { port: portFrom(env, 'MELA_REDIS_PORT', 6390) },
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
      { name: 'orders.dlq', partitions: portFrom(env, 'MELA_ORDERS_PARTITIONS', 6) },
    ],
    services: {
      catalog: { port: portFrom(env, 'MELA_CATALOG_PORT', 3001) },
      cart: { port: portFrom(env, 'MELA_CART_PORT', 3002) },
      order: { port: portFrom(env, 'MELA_ORDER_PORT', 3003) },
      notification: { port: portFrom(env, 'MELA_NOTIFICATION_PORT', 3004) },
    },
    mailbox: {
      smtpPort: portFrom(env, 'MELA_MAILBOX_SMTP_PORT', 2525),
      httpPort: portFrom(env, 'MELA_MAILBOX_HTTP_PORT', 3025),
    },
  };
}

/** `redis://host:port` of the local Redis. */
export function redisUrl(topology: LocalTopology): string {
  return `redis://${topology.host}:${topology.redis.port}`;
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
