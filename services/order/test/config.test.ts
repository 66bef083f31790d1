import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@mela/platform';
import { loadOrderConfig } from '../src/config.js';

const secret = 'x'.repeat(32);
const shardMap = JSON.stringify({
  commerce: { '-': 'mysql://root@127.0.0.1:3306/p' },
  customer: { '-': 'mysql://root@127.0.0.1:3306/c' },
});

function problemsOf(env: Record<string, string>): readonly { variable: string; message: string }[] {
  try {
    loadOrderConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues;
  }
  assert.fail('the configuration was accepted');
}

describe("the order service's configuration", () => {
  it('when service, platform and sharding variables are all bad, then one error names each of them', () => {
    const variables = problemsOf({
      AUTH_JWT_SECRET: secret,
      PORT: 'eighty',
      RESERVATION_TTL_SECONDS: '1',
      MYSQL_POOL_SIZE: '0',
      SHARD_MAP: shardMap,
    }).map((p) => p.variable);

    assert.deepEqual([...variables].sort(), ['MYSQL_POOL_SIZE', 'PORT', 'RESERVATION_TTL_SECONDS']);
  });

  it('when the variables parse but the shard map and the platform rules do not hold, then one error names both', () => {
    const problems = problemsOf({ SHARD_MAP: '{"product": {"-": 7}}' });
    const variables = problems.map((p) => p.variable);

    assert.ok(variables.includes('SHARD_MAP'), JSON.stringify(problems));
    assert.ok(variables.includes('AUTH_JWT_SECRET'), JSON.stringify(problems));
  });

  it('when everything is good, then the sharding part is parsed with the rest, frozen', () => {
    const config = loadOrderConfig({ AUTH_JWT_SECRET: secret, SHARD_MAP: shardMap });

    assert.equal(config.sharding.mode, 'router');
    assert.equal(config.platform.http.port, 3003);
    assert.ok(Object.isFrozen(config.sharding));
  });
});
