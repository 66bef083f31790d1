import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localTopology, mysqlUrl } from '@mela/topology';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { migrationsRoot, readMigrations } from '../src/index.js';

const topology = localTopology();
const cli = fileURLToPath(new URL('../src/migrate.cli.js', import.meta.url));

/** The schema Job's command, run on empty databases of the test's own on every shard. */
describe('mela-migrate, as the Kubernetes schema Job runs it', () => {
  const database = `t_migrate_cli_${randomBytes(4).toString('hex')}`;
  const shardMap: Record<string, Record<string, string>> = {};
  for (const instance of topology.mysql.instances) {
    shardMap[instance.keyspace] = {
      ...shardMap[instance.keyspace],
      [instance.shard]: mysqlUrl(topology, instance, database),
    };
  }
  const onEachServer = async (sql: string) => {
    for (const instance of topology.mysql.instances) {
      const admin = await createConnection({ uri: mysqlUrl(topology, instance) });
      await admin.query(sql).finally(() => admin.end());
    }
  };
  before(() => onEachServer(`CREATE DATABASE \`${database}\``));
  after(() => onEachServer(`DROP DATABASE IF EXISTS \`${database}\``));

  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [cli], { env: { ...process.env, ...env }, encoding: 'utf8' });

  it('when run on empty shards, then every keyspace gets its tables on each of its shards; run again, nothing changes', async () => {
    const first = run({ SHARD_MAP: JSON.stringify(shardMap) });
    const second = run({ SHARD_MAP: JSON.stringify(shardMap) });

    const versions = async (keyspace: string) =>
      (await readMigrations(join(migrationsRoot, keyspace))).map((m) => m.version).join(', ');
    assert.equal(first.status, 0, first.stderr);
    assert.ok(first.stdout.includes(`commerce/0: applied ${await versions('commerce')}\n`));
    for (const shard of ['-80', '80-'])
      assert.ok(
        first.stdout.includes(`customer/${shard}: applied ${await versions('customer')}\n`),
      );
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout.match(/up to date/g)?.length, 3);
    const shard = topology.mysql.instances.find((i) => i.shard === '80-');
    assert.ok(shard);
    const connection = await createConnection({ uri: mysqlUrl(topology, shard, database) });
    const [rows] = await connection.query<RowDataPacket[]>("SHOW TABLES LIKE 'orders'");
    await connection.end();
    assert.equal(rows.length, 1);
  });

  it('when no shard map is given or a shard cannot be reached, then it fails saying why', () => {
    const none = run({ SHARD_MAP: '', SHARD_MAP_FILE: '' });
    const dead = run({
      SHARD_MAP: JSON.stringify({ commerce: { '0': 'mysql://mela:mela@127.0.0.1:1/x' } }),
      MIGRATE_WAIT_SECONDS: '0',
    });

    assert.equal(none.status, 1);
    assert.match(none.stderr, /mela-migrate: set SHARD_MAP or SHARD_MAP_FILE/);
    assert.equal(dead.status, 1);
    assert.match(dead.stderr, /mela-migrate: .*ECONNREFUSED/);
  });
});
