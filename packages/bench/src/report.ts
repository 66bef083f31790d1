import type { BenchFigures, BenchOptions } from './bench.js';
import type { NotifyFigures } from './orders.js';
import { formatRate, median, ratio, summarise, summaryTable, table } from './stats.js';

/** `npm run bench`'s report: markdown tables of the figures, each with its ratios. */
export function benchReport(figures: BenchFigures, o: BenchOptions): string {
  const { repeats, duration, warmup, connections, orderConnections, sale } = o;
  const ordersPerRun = o.orders;
  const { clients, latencyConnections } = figures;
  const [rawSummary, bareSummary, catalogSummary, redisOnlySummary] = figures.throughput;
  const [hit, miss] = figures.latency;
  const [limiterOff] = figures.rateLimiter;
  const [limiterOffLatency] = figures.rateLimiterLatency;
  const { singleShard, scatter: scatterQuery } = figures.scatter;
  const orderRuns = figures.orders;
  const ms = (n: number) => n.toFixed(3);
  const throughput = summaryTable(
    'GET /api/catalog/products/:id',
    'req',
    [
      rawSummary,
      bareSummary,
      catalogSummary,
      redisOnlySummary,
      ...(figures.baseline ? [figures.baseline.summary] : []),
    ],
    {
      baselines: [
        { label: 'node:http', summary: rawSummary },
        { label: 'express', summary: bareSummary },
      ],
      latencyNote: '*',
      redisCommands: true,
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
    figures.rateLimiter,
    { baselines: [{ label: 'off', summary: limiterOff }], latencyNote: '*' },
  );
  const limiterLatencyTable = summaryTable(
    `${String(latencyConnections)} connections, µs timing`,
    'req',
    figures.rateLimiterLatency,
    { baselines: [{ label: 'off', summary: limiterOffLatency }], latency: ms },
  );
  const { placeOrder, soloOrder, rawInsert, sale: saleSummary } = orderSummaries(figures, o);
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
  const { kafkaClients } = figures;
  const kafkaTable = summaryTable(
    `batches of ${String(kafkaClients.batchSize)}, acks=all, idempotent`,
    'msgs',
    [kafkaClients.kafkajs, kafkaClients.platformatic],
    { baselines: [{ label: 'kafkajs', summary: kafkaClients.kafkajs }], latency: ms },
  );
  const scatterTable = summaryTable(
    `customer keyspace, ${String(latencyConnections)} connections, µs timing`,
    'queries',
    [singleShard, scatterQuery],
    { baselines: [{ label: 'one shard', summary: singleShard }], latency: ms },
  );
  return [
    `## Catalog hot path (${new Date().toISOString()})`,
    '',
    `${repeats} × ${duration} s per target after ${warmup} s of warm-up, ${connections} connections; every server in its own process, the load from another, all on one machine.`,
    '',
    throughput,
    '',
    '\\* autocannon reports latency in whole milliseconds.',
    '',
    ...(figures.baseline
      ? [
          `A/B in this run: the catalog now vs at \`${figures.baseline.ref}\`: ${ratio(catalogSummary.requestsPerSecond.median, figures.baseline.summary.requestsPerSecond.median)} the throughput.`,
          '',
        ]
      : []),
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
    `Counted by the servers per order placed (${String(orderConnections)} at a time; every service's share, the outbox relay's and the notification's included): SQL statements on all MariaDB servers (\`Questions\`) ${orderRuns.sqlPerOrder.map((v) => v.toFixed(1)).join(', ')}; Redis commands ${orderRuns.redisPerOrder.map((v) => v.toFixed(1)).join(', ')}.`,
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
    '## Kafka clients: the outbox relay’s publish',
    '',
    `${String(repeats)} × ${String(kafkaClients.batches)} batches per client after a warm-up, interleaved, on the Kafka Mela runs: order events keyed by user with their id and type as headers, each batch sent by an idempotent producer with acks=all and awaited before the next, as the relay does. p50/p99 are per batch.`,
    '',
    kafkaTable,
    '',
  ].join('\n');
}

/** The summaries the saved JSON holds beside the raw figures. */
export function orderSummaries(figures: BenchFigures, o: BenchOptions) {
  return {
    placeOrder: summarise(
      `POST /api/orders, ${String(o.orderConnections)} at a time`,
      figures.orders.orders,
    ),
    soloOrder: summarise('POST /api/orders, one at a time', figures.orders.solo),
    rawInsert: summarise(
      'one mysql2 transaction on one shard (the same rows)',
      figures.orders.rawInsert,
    ),
    sale: summarise(
      `${String(o.sale.buyers)} buyers at once for ${String(o.sale.stock)} units`,
      figures.orders.flashSale.map((s) => s.decisions),
    ),
  };
}
