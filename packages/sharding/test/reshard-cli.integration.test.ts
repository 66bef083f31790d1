import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ShardRouter, loadShardingConfig, type Row } from '../src/index.js';
import {
  createDatabase,
  createTestKeyspaces,
  servers,
  testVSchema,
  testVSchemaJson,
  usersOn,
} from './support.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

describe('mela-shard reshard, as an operator runs it', () => {
  let keyspaces: Awaited<ReturnType<typeof createTestKeyspaces>>;
  let targets: Awaited<ReturnType<typeof createDatabase>>[];
  const dir = mkdtempSync(join(tmpdir(), 'mela-reshard-'));
  const shardMapFile = join(dir, 'shard-map.json');
  const vschemaFile = join(dir, 'vschema.json');

  before(async () => {
    keyspaces = await createTestKeyspaces('t_rcli');
    targets = await Promise.all([
      createDatabase(servers.customerA, 't_rcli_a'),
      createDatabase(servers.customerA, 't_rcli_b'),
      createDatabase(servers.customerB, 't_rcli_c'),
      createDatabase(servers.customerB, 't_rcli_d'),
    ]);
    writeFileSync(vschemaFile, JSON.stringify(testVSchemaJson));
    writeFileSync(
      shardMapFile,
      JSON.stringify({
        commerce: { '0': keyspaces.databases.commerce.url },
        customer: { '-80': keyspaces.databases.low.url, '80-': keyspaces.databases.high.url },
      }),
    );
    const router = new ShardRouter({
      vschema: testVSchema,
      shardMap: keyspaces.shardMap,
      registry: new Registry(),
    });
    const users = [...usersOn('-80', 30, 'cli'), ...usersOn('80-', 30, 'cli')];
    for (const [i, user] of users.entries()) {
      await router.execute(
        { keyspace: 'customer', table: 'orders', key: user },
        'INSERT INTO orders VALUES (?, ?, ?, NOW(3))',
        [i + 1, user, i],
      );
    }
    await router.close();
  });
  after(async () => {
    await keyspaces.drop();
    await Promise.all(targets.map((t) => t.drop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('then it moves the rows, rewrites the shard map, keeps the old one and prints the report', async () => {
    const to = {
      '-40': targets[0]?.url,
      '40-80': targets[1]?.url,
      '80-c0': targets[2]?.url,
      'c0-': targets[3]?.url,
    };
    const child = spawn(
      process.execPath,
      [cli, 'reshard', '--keyspace', 'customer', '--to', JSON.stringify(to)],
      {
        env: { ...process.env, SHARD_MAP_FILE: shardMapFile, VSCHEMA_FILE: vschemaFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];

    assert.equal(code, 0);
    const report = JSON.parse(stdout) as {
      to: string[];
      tables: { table: string; copied: number }[];
    };
    assert.deepEqual(report.to, ['-40', '40-80', '80-c0', 'c0-']);
    assert.equal(report.tables.find((t) => t.table === 'orders')?.copied, 60);
    assert.deepEqual(
      Object.keys(
        (JSON.parse(readFileSync(shardMapFile, 'utf8')) as { customer: object }).customer,
      ),
      ['-40', '40-80', '80-c0', 'c0-'],
    );
    assert.equal(readdirSync(dir).filter((f) => f.includes('.before-reshard-')).length, 1);

    const config = loadShardingConfig({ SHARD_MAP_FILE: shardMapFile, VSCHEMA_FILE: vschemaFile });
    assert.equal(config.mode, 'router');
    const router = new ShardRouter({
      vschema: config.vschema,
      shardMap: config.shardMap,
      registry: new Registry(),
    });
    const rows = await router.scatter<Row>('customer', 'SELECT COUNT(*) AS n FROM orders');
    await router.close();
    assert.equal(
      rows.reduce((n, r) => n + Number(r['n']), 0),
      60,
    );
  });
});
