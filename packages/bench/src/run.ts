#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { kafkaBrokers, localTopology, redisUrl } from '@mela/topology';
import { measureLatency } from './latency.js';
import { benchOrders, type NotifyFigures } from './orders.js';
import { benchScatter } from './shards.js';
import { startPrintingTarget, startService, type Target } from './processes.js';
import { assertLimited, clientAddresses, loadFromClients } from './rate-limit.js';
import {
  formatRate,
  median,
  ratio,
  summarise,
  summaryTable,
  table,
  type RunFigures,
  type Summary,
} from './stats.js';

/**
 * `npm run bench`: the catalog's hot path measured side by side with bare baselines, on the same
 * machine in the same run — each server in its own process, the load from this one. Figures are
 * printed as a markdown table with ratios and saved as JSON under .mela/bench/.
 */
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    repeats: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    products: { type: 'string', default: '100000' },
    orders: { type: 'string', default: '1500' },
    'order-connections': { type: 'string', default: '16' },
    'sale-buyers': { type: 'string', default: '1000' },
    'sale-stock': { type: 'string', default: '100' },
    out: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = values.smoke;
const duration = smoke ? 1 : Number(values.duration);
const warmup = smoke ? 1 : Number(values.warmup);
const repeats = smoke ? 1 : Number(values.repeats);
const connections = Number(values.connections);
const products = Number(values.products);
const ordersPerRun = smoke ? 30 : Number(values.orders);
const orderConnections = Number(values['order-connections']);
const sale = {
  buyers: smoke ? 50 : Number(values['sale-buyers']),
  stock: smoke ? 10 : Number(values['sale-stock']),
};
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const outDir = values.out ?? join(root, '.mela', 'bench');

function say(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function load(url: string, seconds: number): Promise<RunFigures> {
  const result = await autocannon({ url, duration: seconds, connections });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * Scenarios measured side by side: each warmed up (when asked), then the repeats interleaved —
 * one run of each in turn — so drift in the machine touches all alike; one summary each.
 */
async function sideBySide(
  contenders: readonly {
    readonly name: string;
    readonly detail: string;
    run(seconds: number): Promise<RunFigures>;
  }[],
  options: { readonly warmup?: number } = {},
): Promise<Summary[]> {
  if (options.warmup !== undefined) {
    for (const contender of contenders) {
      say(`warming up ${contender.name}`);
      await contender.run(options.warmup);
    }
  }
  const runs = contenders.map((): RunFigures[] => []);
  for (let i = 0; i < repeats; i += 1) {
    for (const [j, contender] of contenders.entries()) {
      say(
        `run ${String(i + 1)}/${String(repeats)}: ${contender.name}, ${contender.detail}, ${String(duration)} s`,
      );
      runs[j]?.push(await contender.run(duration));
    }
  }
  return contenders.map((contender, j) => summarise(contender.name, runs[j] ?? []));
}

const productPath = '/api/catalog/products/42';
const targets: Target[] = [];
try {
  const catalog = await startService('catalog', join(root, 'services/catalog/dist/src/main.js'), {
    // Access logs at info would put a JSON line per request on the hot path; at this scale
    // they are sampled at the edge instead.
    LOG_LEVEL: 'warn',
    // One load generator is one client: a shopper's budget would stop it at 100 requests.
    RATE_LIMIT: 'false',
    CACHE_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:`,
  });
  targets.push(catalog);
  const limitedCatalog = await startService(
    'catalog, rate limiter on',
    join(root, 'services/catalog/dist/src/main.js'),
    {
      LOG_LEVEL: 'warn',
      // The product rule, raised so no request is refused: each still costs its Redis round trip.
      RATE_LIMITS: 'product=999999999/60',
      RATE_LIMIT_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:rl:`,
      TRUST_PROXY_HOPS: '1',
      CACHE_KEY_PREFIX: `bench:${randomBytes(4).toString('hex')}:`,
    },
  );
  targets.push(limitedCatalog);
  await assertLimited(limitedCatalog, productPath);
  const body = await (await fetch(`${catalog.url}${productPath}`)).text();
  const raw = await startPrintingTarget(
    'node:http',
    join(root, 'packages/bench/dist/src/targets/raw-http.js'),
    { BENCH_BODY: body },
  );
  targets.push(raw);
  const bare = await startPrintingTarget(
    'express',
    join(root, 'packages/bench/dist/src/targets/bare-express.js'),
    { BENCH_BODY: body },
  );
  targets.push(bare);

  // 1. Throughput of the cache-hit product page against the baselines, interleaved per repeat.
  const hitOn = (target: Target) => `${target.url}${productPath}`;
  const [rawSummary, bareSummary, catalogSummary] = (await sideBySide(
    [raw, bare, catalog].map((target) => ({
      name: target.name,
      detail: `${String(connections)} connections`,
      run: (seconds) => load(hitOn(target), seconds),
    })),
    { warmup },
  )) as [Summary, Summary, Summary];

  // 5. The rate limiter's cost: the same cache-hit request with the limiter off and on, from
  // 10,000 shoppers (X-Forwarded-For as the edge sets it), interleaved per repeat.
  const clients = 10_000;
  const limiterContenders = [
    { target: catalog, name: 'rate limiter off' },
    { target: limitedCatalog, name: 'rate limiter on (Redis, per client)' },
  ];
  const [limiterOff, limiterOn] = (await sideBySide(
    limiterContenders.map(({ target, name }) => ({
      name,
      detail: `${String(connections)} connections, ${String(clients)} clients`,
      run: (seconds) => loadFromClients(hitOn(target), { seconds, connections, clients }),
    })),
    { warmup },
  )) as [Summary, Summary];

  // 2. Cache miss against cache hit latency, at a concurrency where latency is not queueing.
  let nextId = 1000;
  const coldPath = () => {
    nextId = nextId >= products ? 1000 : nextId + 1;
    return `/api/catalog/products/${nextId}`;
  };
  const latencyConnections = 4;
  const latencyOf =
    (target: Target, path: () => string, headers?: () => Record<string, string>) =>
    (seconds: number) =>
      measureLatency(target.url, {
        connections: latencyConnections,
        seconds,
        path,
        ...(headers ? { headers } : {}),
      });
  const [hit, miss] = (await sideBySide([
    {
      name: 'catalog, cache hit',
      detail: `${String(latencyConnections)} connections`,
      run: latencyOf(catalog, () => productPath),
    },
    {
      name: 'catalog, cache miss (MySQL)',
      detail: `${String(latencyConnections)} connections`,
      run: latencyOf(catalog, coldPath),
    },
  ])) as [Summary, Summary];

  // 5, continued: the limiter's latency at a concurrency where latency is not queueing.
  const client = clientAddresses(clients);
  const [limiterOffLatency, limiterOnLatency] = (await sideBySide(
    limiterContenders.map(({ target, name }) => ({
      name,
      detail: `${String(latencyConnections)} connections`,
      run: latencyOf(
        target,
        () => productPath,
        () => ({ 'x-forwarded-for': client() }),
      ),
    })),
  )) as [Summary, Summary];

  // 7. A scatter query against a single-shard query on the customer keyspace, at a concurrency
  // where latency is not queueing.
  const scatterBench = await benchScatter({ connections: latencyConnections, say });
  const [singleShard, scatterQuery] = (await sideBySide(
    [
      {
        name: "one shard: a user's latest orders",
        detail: `${String(latencyConnections)} connections`,
        run: scatterBench.single,
      },
      {
        name: 'every shard: the same query, scattered and merged',
        detail: `${String(latencyConnections)} connections`,
        run: scatterBench.scatter,
      },
    ],
    { warmup },
  ).finally(() => scatterBench.close())) as [Summary, Summary];

  const ms = (n: number) => n.toFixed(3);
  const throughput = summaryTable(
    'GET /api/catalog/products/:id',
    'req',
    [rawSummary, bareSummary, catalogSummary],
    {
      baselines: [
        { label: 'node:http', summary: rawSummary },
        { label: 'express', summary: bareSummary },
      ],
      latencyNote: '*',
    },
  );
  const latency = table(
    ['product page', 'p50 ms', 'p99 ms', 'req/s (median)', 'req/s min–max', 'errors'],
    [hit, miss].map((s) => [
      s.name,
      ms(s.p50Ms),
      ms(s.p99Ms),
      formatRate(s.requestsPerSecond.median),
      `${formatRate(s.requestsPerSecond.min)}–${formatRate(s.requestsPerSecond.max)}`,
      String(s.errors),
    ]),
  );
  const limiterTable = summaryTable(
    `${String(connections)} connections`,
    'req',
    [limiterOff, limiterOn],
    { baselines: [{ label: 'off', summary: limiterOff }], latencyNote: '*' },
  );
  const limiterLatencyTable = summaryTable(
    `${String(latencyConnections)} connections, µs timing`,
    'req',
    [limiterOffLatency, limiterOnLatency],
    { baselines: [{ label: 'off', summary: limiterOffLatency }], latency: ms },
  );
  // 3 and 6. Order placement against a bare insert transaction; committed → email accepted.
  const orderRuns = await benchOrders({
    repeats,
    orders: ordersPerRun,
    connections: orderConnections,
    sale,
    redisUrl: process.env['REDIS_URL'] ?? redisUrl(localTopology()),
    brokers: process.env['KAFKA_BROKERS']?.split(',') ?? kafkaBrokers(localTopology()),
    say,
  });
  const rawInsert = summarise(
    'one mysql2 transaction on one shard (the same rows)',
    orderRuns.rawInsert,
  );
  const placeOrder = summarise(
    `POST /api/orders, ${String(orderConnections)} at a time`,
    orderRuns.orders,
  );
  const soloOrder = summarise('POST /api/orders, one at a time', orderRuns.solo);
  const orderTable = summaryTable(
    'placing an order',
    'orders',
    [rawInsert, placeOrder, soloOrder],
    { baselines: [{ label: 'raw tx', summary: rawInsert }], latency: ms },
  );
  const notifyRow = (label: string, runs: readonly NotifyFigures[]) => [
    label,
    String(runs.reduce((n, r) => n + r.count, 0)),
    ms(median(runs.map((r) => r.p50Ms))),
    ms(median(runs.map((r) => r.p99Ms))),
    `${ms(Math.min(...runs.map((r) => r.p99Ms)))}–${ms(Math.max(...runs.map((r) => r.p99Ms)))}`,
  ];
  const notifyTable = table(
    ['order committed → email accepted by SMTP', 'orders', 'p50 ms', 'p99 ms', 'p99 min–max'],
    [
      notifyRow(`placed ${String(orderConnections)} at a time`, orderRuns.notification),
      notifyRow('placed one at a time', orderRuns.soloNotification),
    ],
  );
  const sales = orderRuns.flashSale;
  const saleSummary = summarise(
    `${String(sale.buyers)} buyers at once for ${String(sale.stock)} units`,
    sales.map((s) => s.decisions),
  );
  const saleTable = table(
    [
      'flash sale',
      'decisions/s (median)',
      'decisions/s min–max',
      'p50 ms',
      'p99 ms',
      'placed',
      'sold out',
      'oversold',
      'other answers',
      'vs ordinary orders/s',
    ],
    [
      [
        saleSummary.name,
        formatRate(saleSummary.requestsPerSecond.median),
        `${formatRate(saleSummary.requestsPerSecond.min)}–${formatRate(saleSummary.requestsPerSecond.max)}`,
        ms(saleSummary.p50Ms),
        ms(saleSummary.p99Ms),
        sales.map((s) => String(s.placed)).join(' / '),
        sales.map((s) => String(s.soldOut)).join(' / '),
        String(sales.reduce((n, s) => n + s.oversold, 0)),
        String(saleSummary.errors),
        ratio(saleSummary.requestsPerSecond.median, placeOrder.requestsPerSecond.median),
      ],
    ],
  );
  const scatterTable = summaryTable(
    `customer keyspace, ${String(latencyConnections)} connections, µs timing`,
    'queries',
    [singleShard, scatterQuery],
    { baselines: [{ label: 'one shard', summary: singleShard }], latency: ms },
  );
  const report = [
    `## Catalog hot path (${new Date().toISOString()})`,
    '',
    `${repeats} × ${duration} s per target after ${warmup} s of warm-up, ${connections} connections; every server in its own process, the load from another, all on one machine.`,
    '',
    throughput,
    '',
    '\\* autocannon reports latency in whole milliseconds.',
    '',
    `Cache miss vs hit at ${latencyConnections} connections: p50 ${ratio(miss.p50Ms, hit.p50Ms)}, p99 ${ratio(miss.p99Ms, hit.p99Ms)}.`,
    '',
    latency,
    '',
    '## Rate limiter overhead',
    '',
    `The same cache-hit request from ${clients.toLocaleString('en-US')} clients (X-Forwarded-For, as behind the edge), the catalog with the limiter off and on, interleaved: throughput at ${String(connections)} connections (autocannon), then latency at ${String(latencyConnections)} connections timed in microseconds. The limiter's product rule is raised so nothing is refused — every request still takes its Redis round trip.`,
    '',
    limiterTable,
    '',
    limiterLatencyTable,
    '',
    `## Placing orders`,
    '',
    `${String(repeats)} × ${String(ordersPerRun)} orders after a warm-up, ${String(orderConnections)} connections, each order a different user's (carts filled before the timed part), sandbox payment at 0 ms; the baseline writes the same rows (claim, order, item, outbox) in one transaction per order on one shard.`,
    '',
    orderTable,
    '',
    `CPU the order service spends per order placed (${String(orderConnections)} at a time): ${orderRuns.cpuMsPerOrder.map((v) => `${v.toFixed(2)} ms`).join(', ')} (one per repeat).`,
    '',
    "From the order's `createdAt` (stamped just before its commit transaction) to the SMTP server accepting its email: commit → outbox relay → Kafka → notification (delivery log on the shard) → SMTP; millisecond timestamps.",
    '',
    notifyTable,
    '',
    '## Flash sale',
    '',
    `Per repeat, a product with ${String(sale.stock)} units, ${String(sale.buyers)} buyers each holding one in their cart, and all their checkouts sent at the same instant (one connection each) to one order replica. A decision is a placed order or a sold-out answer; oversold counts order lines for the product beyond its stock, summed on every shard (must be 0). The ratio compares with ordinary orders/s above.`,
    '',
    saleTable,
    '',
    '## Scatter vs single-shard query',
    '',
    `Through the router on the customer keyspace (two shards), 6,000 orders of 2,000 users: a user's latest 20 orders routed to the user's shard by the vindex, against the same indexed query sent to every shard and merged (as for a column without a vindex) — the difference is the fan-out and the merge alone.`,
    '',
    scatterTable,
    '',
  ].join('\n');
  process.stdout.write(`${report}\n`);
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(outDir, `catalog-${stamp}.json`),
    JSON.stringify(
      {
        smoke,
        duration,
        warmup,
        repeats,
        connections,
        throughput: [rawSummary, bareSummary, catalogSummary],
        latency: [hit, miss],
        rateLimiter: [limiterOff, limiterOn],
        rateLimiterLatency: [limiterOffLatency, limiterOnLatency],
        orders: {
          placeOrder,
          soloOrder,
          rawInsert,
          notification: orderRuns.notification,
          soloNotification: orderRuns.soloNotification,
          cpuMsPerOrder: orderRuns.cpuMsPerOrder,
        },
        flashSale: { sale, runs: orderRuns.flashSale, summary: saleSummary },
        scatter: { singleShard, scatter: scatterQuery },
      },
      null,
      2,
    ),
  );
  writeFileSync(join(outDir, 'latest.md'), report);
  say(`saved to ${outDir}`);
} finally {
  await Promise.all(targets.map((t) => t.stop()));
}
