import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  createHttpService,
  createPlatform,
  createServiceApp,
  loadConfig,
  platformConfigSchema,
  type HttpService,
} from '@mela/platform';
import { deadPort } from '@mela/testkit';
import { ShardRouter, parseShardMap } from '../src/index.js';
import { createTestKeyspaces, testVSchema, usersOn } from './support.js';

describe('when one shard is down', () => {
  let keyspaces: Awaited<ReturnType<typeof createTestKeyspaces>>;
  let router: ShardRouter;
  let service: HttpService;
  let url: string;

  before(async () => {
    keyspaces = await createTestKeyspaces('t_down');
    const shardMap = parseShardMap(
      {
        commerce: { '0': keyspaces.databases.commerce.url },
        customer: {
          '-80': keyspaces.databases.low.url,
          '80-': `mysql://mela:mela@127.0.0.1:${await deadPort()}/customer`,
        },
      },
      testVSchema,
    );
    const config = loadConfig(platformConfigSchema, {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    });
    const platform = createPlatform('shard-down-test', config);
    router = new ShardRouter({
      vschema: testVSchema,
      shardMap,
      registry: platform.metrics.registry,
      connectTimeoutMs: 500,
    });
    for (const check of router.healthChecks())
      platform.health.register(check.name, check.probe, { critical: check.critical });
    const app = createServiceApp(platform, (routes) => {
      routes.get('/users/:userId/orders', async (req, res) => {
        const { userId } = req.params;
        const rows = await router.execute(
          { keyspace: 'customer', table: 'orders', key: userId },
          'SELECT id FROM orders WHERE user_id = ?',
          [userId],
        );
        res.json({ orders: rows });
      });
    });
    service = createHttpService(platform, app);
    const address = await service.start();
    url = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await service.stop();
    await router.close();
    await keyspaces.drop();
  });

  it('then its users get a 503 problem naming the shard, and users of other shards are served', async () => {
    const [healthy] = usersOn('-80', 1);
    const [unlucky] = usersOn('80-', 1);

    const ok = await fetch(`${url}/users/${healthy ?? ''}/orders`);
    const down = await fetch(`${url}/users/${unlucky ?? ''}/orders`);

    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { orders: [] });
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '1');
    const problem = (await down.json()) as Record<string, unknown>;
    assert.equal(problem['code'], 'dependency_unavailable');
    assert.equal(problem['dependency'], 'mysql customer/80-');
  });

  it('then /readyz stays 200 (degraded) and reports each shard, the dead one down', async () => {
    const res = await fetch(`${url}/readyz`);
    const report = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string }>;
    };

    assert.equal(res.status, 200);
    assert.equal(report.status, 'degraded');
    assert.equal(report.checks['mysql customer/-80']?.status, 'up');
    assert.equal(report.checks['mysql commerce/0']?.status, 'up');
    assert.equal(report.checks['mysql customer/80-']?.status, 'down');
  });

  it('then only the unsharded keyspace’s shard is critical for readiness', () => {
    const critical = Object.fromEntries(router.healthChecks().map((c) => [c.name, c.critical]));

    assert.deepEqual(critical, {
      'mysql commerce/0': true,
      'mysql customer/-80': false,
      'mysql customer/80-': false,
    });
  });

  it('then shard errors are counted per shard', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();

    assert.match(
      metrics,
      /shard_errors_total\{keyspace="customer",shard="80-",reason="unavailable",service="shard-down-test"\} [1-9]/,
    );
  });
});
