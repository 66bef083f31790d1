import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blackHole, deadPort } from '@mela/testkit';
import { localTopology, mysqlUrl, redisUrl } from '@mela/topology';
import { Redis } from 'ioredis';
import { createPool, type Pool } from 'mysql2/promise';
import { startApp, type RunningApp } from './support.js';

const topology = localTopology();
const commerce = topology.mysql.instances.find((i) => i.keyspace === 'commerce');

describe('/readyz against real Redis and MariaDB', () => {
  let redis: Redis;
  let mysql: Pool;
  let running: RunningApp;

  before(async () => {
    assert.ok(commerce, 'the topology has a commerce shard');
    redis = new Redis(redisUrl(topology), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    mysql = createPool({ uri: mysqlUrl(topology, commerce, 'commerce'), connectionLimit: 2 });
    running = await startApp((_app, platform) => {
      platform.health.register('redis', () => redis.ping());
      platform.health.register('mysql-commerce', () => mysql.query('SELECT 1'));
    });
  });
  after(async () => {
    await running.service.stop();
    redis.disconnect();
    await mysql.end();
  });

  it('when Redis and the shard answer, then the service is ready and each check is up', async () => {
    const res = await fetch(`${running.url}/readyz`);

    assert.equal(res.status, 200);
    const report = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string }>;
    };
    assert.equal(report.status, 'ready');
    assert.equal(report.checks['redis']?.status, 'up');
    assert.equal(report.checks['mysql-commerce']?.status, 'up');
  });

  it('when scraped, then each dependency is exported as up', async () => {
    const metrics = await (await fetch(`${running.url}/metrics`)).text();

    assert.match(metrics, /^dependency_up\{dependency="redis",service="[^"]+"\} 1$/m);
    assert.match(metrics, /^dependency_up\{dependency="mysql-commerce",service="[^"]+"\} 1$/m);
  });
});

describe('/readyz when dependencies fail', () => {
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let deadRedis: Redis;
  let hungRedis: Redis;
  let running: RunningApp;

  before(async () => {
    hole = await blackHole();
    const options = {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      connectTimeout: 500,
      retryStrategy: () => 200,
    };
    deadRedis = new Redis(await deadPort(), '127.0.0.1', options);
    hungRedis = new Redis(hole.port, '127.0.0.1', options);
    deadRedis.on('error', () => undefined);
    hungRedis.on('error', () => undefined);
    running = await startApp(
      (_app, platform) => {
        platform.health.register('cache', () => deadRedis.ping(), { critical: false });
        platform.health.register('sessions', () => hungRedis.ping());
      },
      { READINESS_TIMEOUT_MS: '300' },
    );
  });
  after(async () => {
    await running.service.stop();
    deadRedis.disconnect();
    hungRedis.disconnect();
    await hole.close();
  });

  it('when a critical dependency hangs, then /readyz answers 503 within its timeout instead of hanging', async () => {
    const started = performance.now();
    const res = await fetch(`${running.url}/readyz`);
    const took = performance.now() - started;

    assert.equal(res.status, 503);
    const report = (await res.json()) as {
      status: string;
      checks: Partial<Record<string, { status: string; error?: string }>>;
    };
    assert.equal(report.status, 'not_ready');
    const sessions = report.checks['sessions'];
    assert.equal(sessions?.status, 'down');
    assert.match(sessions.error ?? '', /timed out after 300 ms/);
    assert.equal(report.checks['cache']?.status, 'down');
    assert.ok(took < 2000, `answered in ${Math.round(took)} ms`);
  });

  it('when scraped, then the failing dependencies are exported as down, without the scrape hanging', async () => {
    const metrics = await (await fetch(`${running.url}/metrics`)).text();

    assert.match(metrics, /^dependency_up\{dependency="cache",service="[^"]+"\} 0$/m);
    assert.match(metrics, /^dependency_up\{dependency="sessions",service="[^"]+"\} 0$/m);
  });
});
