import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localTopology, mysqlUrl } from '@mela/topology';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { migrate, readMigrations } from '../src/index.js';

const topology = localTopology();
const shard = topology.mysql.instances[0];

describe('migrations on a real MariaDB shard', () => {
  const database = `test_migrate_${randomBytes(4).toString('hex')}`;
  let dir: string;
  let connection: Connection;

  before(async () => {
    assert.ok(shard);
    dir = await mkdtemp(join(tmpdir(), 'mela-migrations-'));
    const admin = await createConnection({ uri: mysqlUrl(topology, shard) });
    await admin.query(`CREATE DATABASE \`${database}\``);
    await admin.end();
    connection = await createConnection({ uri: mysqlUrl(topology, shard, database) });
  });
  after(async () => {
    await connection.query(`DROP DATABASE \`${database}\``);
    await connection.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('when migrations are pending, then they run in version order and are recorded; a second run applies nothing', async () => {
    await writeFile(
      join(dir, '0002_add_price.sql'),
      'ALTER TABLE widgets ADD COLUMN price_cents INT NOT NULL DEFAULT 0;\n',
    );
    await writeFile(
      join(dir, '0001_create_widgets.sql'),
      "-- widgets for the test\nCREATE TABLE widgets (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL);\nINSERT INTO widgets VALUES (1, 'a;b');\n",
    );

    const first = await migrate(connection, await readMigrations(dir));
    const second = await migrate(connection, await readMigrations(dir));

    assert.deepEqual(first, { applied: [1, 2], alreadyApplied: [] });
    assert.deepEqual(second, { applied: [], alreadyApplied: [1, 2] });
    const [rows] = await connection.query<RowDataPacket[]>(
      'SELECT id, name, price_cents FROM widgets',
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [{ id: 1, name: 'a;b', price_cents: 0 }],
    );
  });

  it('when an applied migration was edited, then migrating refuses instead of rewriting history', async () => {
    await writeFile(
      join(dir, '0001_create_widgets.sql'),
      'CREATE TABLE widgets (id BIGINT PRIMARY KEY);\n',
    );

    await assert.rejects(
      migrate(connection, await readMigrations(dir)),
      /migration 1 \(create_widgets\) was changed/,
    );
  });

  it('when told not to lock (the Vitess Job), then it migrates even while another session holds the lock', async () => {
    assert.ok(shard);
    const other = await createConnection({ uri: mysqlUrl(topology, shard, database) });
    const unlocked = await mkdtemp(join(tmpdir(), 'mela-migrations-unlocked-'));
    try {
      const [[held]] = await other.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [
        `mela_migrate_${database}`,
      ]);
      assert.equal(held?.['got'], 1);
      await writeFile(
        join(unlocked, '0003_add_colour.sql'),
        "ALTER TABLE widgets ADD COLUMN colour VARCHAR(10) NOT NULL DEFAULT 'red';\n",
      );

      const report = await migrate(connection, await readMigrations(unlocked), { lock: false });

      assert.deepEqual(report, { applied: [3], alreadyApplied: [] });
      const [rows] = await connection.query<RowDataPacket[]>('SELECT colour FROM widgets');
      assert.deepEqual(
        rows.map((r) => ({ ...r })),
        [{ colour: 'red' }],
      );
    } finally {
      await other.end();
      await rm(unlocked, { recursive: true, force: true });
    }
  });

  it('when a file is badly named, then reading the migrations fails and names it', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'mela-migrations-bad-'));
    await writeFile(join(bad, '1_oops.sql'), 'SELECT 1;');

    await assert.rejects(readMigrations(bad), /1_oops\.sql is not named NNNN_description\.sql/);
    await rm(bad, { recursive: true, force: true });
  });
});
