import { join } from 'node:path';
import { migrate, migrationsRoot, readMigrations } from '@mela/schema';
import { kafkaBrokers, localTopology, mysqlUrl, type LocalTopology } from '@mela/topology';
import { createConnection } from 'mysql2/promise';
import { ensureJaeger, ensureSystemPackages, type SystemRequirement } from '@mela/toolchain';
import type { Dependency, DependencyStatus } from './dependency.js';
import { jaegerDependency } from './jaeger.js';
import { ensureKafkaJars, kafkaDependency } from './kafka.js';
import { createAdmin, createTopicsAndWait } from '@mela/messaging';
import { mariadbDependency } from './mariadb.js';
import { nginxRequirements } from '@mela/edge';
import { prometheusRequirements } from './prometheus.js';
import { progress } from '@mela/toolchain';
import { redisDependency } from './redis.js';

/**
 * The real servers of local mode: two Redis (cache, carts), one MariaDB per shard, one Kafka
 * node, and Jaeger for the services' traces.
 */
export function localDependencies(topology: LocalTopology): Dependency[] {
  return [
    redisDependency(topology, 'cache'),
    redisDependency(topology, 'carts'),
    ...topology.mysql.instances.map((instance) => mariadbDependency(topology, instance)),
    kafkaDependency(topology),
    jaegerDependency(topology),
  ];
}

/**
 * Installs what is missing (the servers, nginx for the edge, and `also`, in one apt run), then
 * starts every dependency that is not running, in parallel.
 */
export async function depsUp(
  topology = localTopology(),
  also: readonly SystemRequirement[] = [],
): Promise<void> {
  const started = Date.now();
  ensureSystemPackages([
    { command: 'redis-server', aptPackage: 'redis-server' },
    { command: 'mariadb-install-db', aptPackage: 'mariadb-server' },
    { command: 'java', aptPackage: 'openjdk-17-jre-headless' },
    { command: 'mvn', aptPackage: 'maven' },
    ...nginxRequirements,
    ...prometheusRequirements,
    ...also,
  ]);
  // What is built or fetched once, before the servers start side by side: a build of minutes
  // inside one server's start would hold up the others' waits until they time out.
  ensureKafkaJars();
  ensureJaeger();
  const results = await Promise.allSettled(localDependencies(topology).map((d) => d.up()));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    throw new AggregateError(
      failures,
      failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n'),
    );
  }
  await ensureTopics(topology);
  progress(`dependencies up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Stops every dependency. */
export async function depsDown(topology = localTopology()): Promise<void> {
  await Promise.all(localDependencies(topology).map((d) => d.down()));
}

export function depsStatus(topology = localTopology()): Promise<DependencyStatus[]> {
  return Promise.all(localDependencies(topology).map((d) => d.status()));
}

/** Applies each keyspace's migrations to every shard of that keyspace. */
export async function migrateAll(topology = localTopology()): Promise<void> {
  for (const instance of topology.mysql.instances) {
    const migrations = await readMigrations(join(migrationsRoot, instance.keyspace));
    const connection = await createConnection({
      uri: mysqlUrl(topology, instance, instance.keyspace),
      multipleStatements: false,
    });
    try {
      const report = await migrate(connection, migrations);
      if (report.applied.length > 0) {
        progress(
          `migrated ${instance.keyspace}/${instance.shard}: applied ${report.applied.join(', ')}`,
        );
      }
    } finally {
      await connection.end();
    }
  }
}

/** Creates the project's Kafka topics that do not exist yet (one replica: one local broker). */
export async function ensureTopics(topology = localTopology()): Promise<void> {
  const admin = createAdmin({
    brokers: kafkaBrokers(topology),
    clientId: 'mela-devstack',
    ssl: false,
  });
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topology.topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    await createTopicsAndWait(
      admin,
      missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })),
    );
    progress(
      `created Kafka topics ${missing.map((t) => `${t.name} (${t.partitions} partitions)`).join(', ')}`,
    );
  } finally {
    await admin.close();
  }
}
