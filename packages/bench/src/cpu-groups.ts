import { jitGroup, otherProcesses, type ProcessGroups } from '@mela/toolchain';

/** The order service's bench's process groups, in the order its table shows them. */
export const benchGroups = {
  order: 'order service',
  notification: 'notification service',
  mariadb: 'MariaDB (every shard)',
  kafka: 'Kafka',
  kafkaJit: jitGroup('Kafka'),
  redis: 'Redis',
  catalogAndCart: 'catalog and cart',
  bench: 'the bench (its load)',
  node: 'other Node processes',
  rest: otherProcesses,
} as const;

/**
 * Process groups for the bench: the pids named, then MariaDB, Redis, Kafka (the JVM) and any
 * other Node process by their command names; everything else together.
 */
export function groupsOf(named: ReadonlyMap<number, string>): ProcessGroups {
  const byCommand: Readonly<Record<string, string>> = {
    mariadbd: benchGroups.mariadb,
    'redis-server': benchGroups.redis,
    java: benchGroups.kafka,
    node: benchGroups.node,
  };
  return (pid, command) => named.get(pid) ?? byCommand[command];
}
