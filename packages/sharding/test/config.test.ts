import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '@mela/core';
import { loadShardingConfig } from '../src/index.js';

const good = JSON.stringify({
  commerce: { '0': 'mysql://u:p@127.0.0.1:3407/commerce' },
  customer: {
    '-80': 'mysql://u:p@127.0.0.1:3408/customer',
    '80-': 'mysql://u:p@127.0.0.1:3409/customer',
  },
});

function issues(env: Record<string, string>): string[] {
  try {
    loadShardingConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.variable}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

describe('sharding configuration', () => {
  it('when the shard map is complete, then the router mode uses Mela’s VSchema', () => {
    const config = loadShardingConfig({ SHARD_MAP: good });

    assert.equal(config.mode, 'router');
    assert.ok(config.vschema.keyspaces.get('customer')?.sharded);
    assert.equal(config.trace, false, 'mysql2 stack capture is off unless asked for');
    assert.equal(loadShardingConfig({ SHARD_MAP: good, MYSQL_TRACE: 'true' }).trace, true);
  });

  it('when the shard map is malformed, then start-up fails naming the variable and the problem', () => {
    assert.match(issues({ SHARD_MAP: '{"customer": ' }).join('\n'), /^SHARD_MAP: .*JSON/);
    assert.deepEqual(
      issues({
        SHARD_MAP: JSON.stringify({
          commerce: { '0': 'mysql://h/c' },
          customer: { '-80': 'mysql://h/a' },
        }),
      }),
      ['SHARD_MAP: keyspace "customer": shards -80 leave a gap at the end (nothing serves 80-)'],
    );
    assert.deepEqual(issues({}), [
      'SHARD_MAP_FILE: set SHARD_MAP or SHARD_MAP_FILE (or MYSQL_MODE=vtgate with VTGATE_URL)',
    ]);
  });

  it('when the VSchema file is malformed, then start-up fails naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mela-vschema-'));
    const file = join(dir, 'vschema.json');
    writeFileSync(
      file,
      JSON.stringify({ keyspaces: { customer: { sharded: true, tables: { orders: {} } } } }),
    );

    try {
      assert.deepEqual(issues({ VSCHEMA_FILE: file, SHARD_MAP: good }), [
        'VSCHEMA_FILE: customer.orders: a table in a sharded keyspace needs a primary vindex (column_vindexes[0])',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when vtgate mode is chosen, then VTGATE_URL is required instead of a shard map', () => {
    assert.deepEqual(issues({ MYSQL_MODE: 'vtgate' }), [
      'VTGATE_URL: required when MYSQL_MODE=vtgate',
    ]);
    assert.equal(
      loadShardingConfig({ MYSQL_MODE: 'vtgate', VTGATE_URL: 'mysql://u:p@vtgate:3306' }).mode,
      'vtgate',
    );
  });
});
