import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scratchDatabase, shardServer, type ScratchDatabase } from '@mela/schema';
import { localShardMap, localTopology, redisUrl } from '@mela/topology';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The benchmark harness end to end, for a second per target: it runs, measures and reports. */
describe('npm run bench, as a smoke run', () => {
  const topology = localTopology();
  let database: ScratchDatabase | undefined;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    database = await scratchDatabase(shardServer('commerce', 0, topology), {
      prefix: 't_bench',
      keyspace: 'commerce',
      topology,
    });
    env = {
      ...process.env,
      SHARD_MAP: JSON.stringify({
        ...localShardMap(topology),
        commerce: { '0': database.url },
      }),
      REDIS_URL: redisUrl(topology),
      AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    };
    const seed = spawnSync(
      process.execPath,
      [join(root, 'services/catalog/dist/src/seed.cli.js'), '--products', '3000'],
      { env, encoding: 'utf8' },
    );
    assert.equal(seed.status, 0, seed.stderr);
  });
  const out = mkdtempSync(join(tmpdir(), 'mela-bench-'));
  after(async () => {
    await database?.drop();
    rmSync(out, { recursive: true, force: true });
  });

  it('then it prints the side-by-side table with ratios and saves the figures', () => {
    const run = spawnSync(
      process.execPath,
      [join(root, 'packages/bench/dist/src/run.js'), '--smoke', '--products', '3000', '--out', out],
      {
        env,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );

    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\| node:http \| [\d,]+ .* \| 1\.00× \|/);
    assert.match(run.stdout, /\| catalog \| [\d,]+ /);
    assert.match(run.stdout, /Cache miss vs hit at 4 connections: p50 [\d.]+×/);
    // Through the edge, the product page is answered from nginx's micro-cache: counted by the
    // catalog itself, only a sliver of the answers reached it (every one would, without it).
    assert.match(run.stdout, /\| catalog through the edge \(micro-cache\) \| [\d,]+ .* \| 0 \| /);
    const originShare = /([\d.]+) % of the edge's answers reached the origin/.exec(run.stdout);
    assert.ok(originShare, 'the origin share through the edge');
    assert.ok(Number(originShare[1]) < 5, `${String(originShare[1])} % reached the origin`);
    assert.match(
      run.stdout,
      /\| rate limiter on, returning shoppers \| [\d,.]+ .* \| 0 \| [\d.]+ \| [\d.]+ \| [\d.]+× \|/,
    );
    assert.match(
      run.stdout,
      /a floor for any such limiter: [\d.-]+ µs a request here, where the catalog's 0\.95× target leaves the limiter [\d.]+ µs/,
    );
    assert.match(run.stdout, /\| POST \/api\/orders, 16 at a time \| [\d,.]+ /);
    // The flash sale: every unit sold once, everyone else told it is sold out, nothing oversold.
    assert.match(
      run.stdout,
      /\| 50 buyers at once for 10 units \| [\d,.]+ \| [\d,.]+–[\d,.]+ \| [\d.]+ \| [\d.]+ \| 10 \| 40 \| 0 \| \d+ \| [1-9]\d* \| 0 \| [\d.]+× \| [\d.]+× \|/,
    );
    // …beside the same burst against a bare server, and against Mela's HTTP platform with
    // nothing behind it, each answering every buyer sold out at once.
    assert.match(
      run.stdout,
      /\| 50 buyers at once, bare node:http, each told sold out \| [\d,.]+ \| .* \| – \| [1-9]\d* \| 0 \| – \| 1\.00× \|/,
    );
    assert.match(
      run.stdout,
      /\| 50 buyers at once, Mela's HTTP platform, the token verified, each told sold out \| [\d,.]+ \| .* \| – \| [1-9]\d* \| 0 \| – \| [\d.]+× \|/,
    );
    assert.match(
      run.stdout,
      /\| every shard: the same query, scattered and merged \| [\d,.]+ .* \| [\d.]+× \|/,
    );
    assert.match(run.stdout, /\| placed one at a time \| \d+ \| [\d.]+ \| [\d.]+ \|/);
    // The order's and the notification's CPU, statements, round trips (the general log's
    // count) and Redis commands per order.
    assert.match(
      run.stdout,
      /\| this checkout \| \d+\.\d\d \| (?!0\.00 )\d+\.\d\d \| \d+\.\d \| [1-9]\d*\.\d \| \d+\.\d \|/,
    );
    // The same orders placed in process, without HTTP: their rate, errors and CPU per order.
    assert.match(
      run.stdout,
      /\| OrderService\.place in process, no HTTP, 16 at a time \| [\d,.]+ .* \| 0 \| [\d.]+× \|/,
    );
    assert.match(
      run.stdout,
      /\| this checkout, in process \(no HTTP\) \| (?!0\.00 )\d+\.\d\d \| (?!0\.00 )\d+\.\d\d \| — \| — \| — \|/,
    );
    // What an order and a raw transaction cost the machine: each process group under test
    // spent some CPU (the raw transaction's column has no order service: 0.00), MariaDB in
    // both columns, and the machine's busy time is in both.
    assert.match(run.stdout, /\| order service \| (?!0\.00 )\d+\.\d\d \| .*\|/);
    assert.match(
      run.stdout,
      /\| MariaDB \(every shard\) \| (?!0\.00 )\d+\.\d\d \| .*(?!0\.00 )\d+\.\d\d \|/,
    );
    assert.match(
      run.stdout,
      /\| \*\*the machine \(every core\)\*\* \| \*\*\d+\.\d\d\*\* \| .*\*\*\d+\.\d\d\*\* \|/,
    );
    assert.match(run.stdout, /\| @platformatic\/kafka \| [\d,.]+ \| .* \| 0 \| [\d.]+× \|/);
    // Tracing's cost: the catalog and the orders traced, beside the same untraced.
    assert.match(run.stdout, /\| catalog, traced \(every request\) \| [\d,]+ .* \| 0 \| /);
    assert.match(run.stdout, /\| POST \/api\/orders, 16 at a time, traced \| [\d,.]+ .* \| 0 \| /);
    assert.match(
      run.stdout,
      /every request traced [\d.]+× the throughput, one in ten \(prod's ratio\) [\d.]+×/,
    );
    assert.match(run.stdout, /Orders, every one traced .*: [\d.]+× the orders\/s/);
    const [file] = readdirSync(out).filter((f) => f.endsWith('.json'));
    assert.ok(file);
    const figures = JSON.parse(readFileSync(join(out, file), 'utf8')) as {
      throughput: {
        name: string;
        requestsPerSecond: { median: number };
        errors: number;
        redisCommandsPerRequest?: number;
      }[];
      latency: { errors: number }[];
      rateLimiter: { name: string; errors: number }[];
      rateLimiterLatency: { name: string; errors: number }[];
      limiterFloor: { name: string; errors: number; cpuMicrosPerRequest?: number }[];
      orders: Record<'placeOrder' | 'soloOrder' | 'rawInsert', { errors: number }>;
    };
    assert.deepEqual(
      figures.throughput.map((t) => t.name),
      ['node:http', 'express', 'catalog', 'catalog, no near cache (Redis)'],
    );
    for (const t of figures.throughput) {
      assert.ok(t.requestsPerSecond.median > 0, t.name);
      assert.equal(t.errors, 0, t.name);
    }
    // Counted by Redis itself: a hot product read from Redis costs its MGETs every time; the
    // near cache asks Redis about once per entry and second.
    const [, , near, redisOnly] = figures.throughput;
    assert.ok((redisOnly?.redisCommandsPerRequest ?? 0) >= 1, JSON.stringify(redisOnly));
    assert.ok((near?.redisCommandsPerRequest ?? 1) < 0.1, JSON.stringify(near));
    assert.ok(figures.latency.every((l) => l.errors === 0));
    assert.deepEqual(
      [...figures.rateLimiter, ...figures.rateLimiterLatency].map((r) => [r.name, r.errors]),
      [
        ['rate limiter off', 0],
        ['rate limiter on, returning shoppers', 0],
        ['rate limiter on, first visits', 0],
        ['rate limiter off', 0],
        ['rate limiter on, returning shoppers', 0],
        ['rate limiter on, first visits', 0],
      ],
    );
    // The floor beside the limiter: bare express with and without a counter per client, its
    // CPU counted from the process.
    assert.deepEqual(
      figures.limiterFloor.map((r) => [r.name, r.errors]),
      [
        ['express, the same returning shoppers', 0],
        ['express, a counter per client in memory', 0],
      ],
    );
    assert.ok(
      figures.limiterFloor.every((r) => (r.cpuMicrosPerRequest ?? 0) > 0),
      JSON.stringify(figures.limiterFloor),
    );
    const { placeOrder, soloOrder, rawInsert } = figures.orders;
    assert.deepEqual([placeOrder.errors, soloOrder.errors, rawInsert.errors], [0, 0, 0]);
  });
});
