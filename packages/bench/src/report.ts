import type { BenchFigures, BenchOptions } from './bench.js';
import { availableParallelism } from 'node:os';
import { machineGroup } from '@mela/toolchain';
import { benchGroups } from './cpu-groups.js';
import type { NotifyFigures, OrderServiceFigures, SaleFigures } from './orders.js';
import {
  formatRate,
  median,
  ratio,
  summarise,
  summaryTable,
  table,
  type Summary,
} from './stats.js';

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
      ...figures.traced,
      figures.edge.summary,
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
    {
      baselines: [{ label: 'off', summary: limiterOff }],
      latencyNote: '*',
      redisCommands: true,
      cpu: true,
    },
  );
  const [floorBare, floorCounting] = figures.limiterFloor;
  const limiterFloorTable = summaryTable(
    `${String(connections)} connections`,
    'req',
    figures.limiterFloor,
    { baselines: [{ label: 'express', summary: floorBare }], redisCommands: true, cpu: true },
  );
  const limiterLatencyTable = summaryTable(
    `${String(latencyConnections)} connections, µs timing`,
    'req',
    figures.rateLimiterLatency,
    { baselines: [{ label: 'off', summary: limiterOffLatency }], latency: ms },
  );
  const summaries = orderSummaries(figures, o);
  const { placeOrder, soloOrder, rawInsert } = summaries;
  const baselineOrders = figures.orders.baseline;
  const orderTable = summaryTable(
    'placing an order',
    'orders',
    [
      rawInsert,
      placeOrder,
      soloOrder,
      summaries.inProcess,
      ...(summaries.baseline ? [summaries.baseline.placeOrder, summaries.baseline.soloOrder] : []),
      ...(summaries.traced ? [summaries.traced.placeOrder, summaries.traced.soloOrder] : []),
    ],
    { baselines: [{ label: 'raw tx', summary: rawInsert }], latency: ms },
  );
  const tracedOrders = figures.orders.traced;
  const perRepeat = (values: readonly number[], digits: number) =>
    values.map((v) => v.toFixed(digits)).join(', ');
  const costRow = (name: string, runs: OrderServiceFigures) => [
    name,
    perRepeat(runs.cpuMsPerOrder, 2),
    perRepeat(runs.notificationCpuMsPerOrder, 2),
    perRepeat(runs.sqlPerOrder, 1),
    perRepeat(runs.roundTripsPerOrder, 1),
    perRepeat(runs.redisPerOrder, 1),
  ];
  const costTable = table(
    [
      'per order placed (one figure per repeat)',
      'order service CPU ms',
      'notification service CPU ms',
      'SQL statements (`Questions`)',
      'SQL round trips (general log)',
      'Redis commands',
    ],
    [
      costRow('this checkout', orderRuns),
      [
        'this checkout, in process (no HTTP)',
        perRepeat(orderRuns.inProcess.cpuMsPerOrder, 2),
        perRepeat(orderRuns.inProcess.notificationCpuMsPerOrder, 2),
        '—',
        '—',
        '—',
      ],
      ...(baselineOrders ? [costRow(`at ${baselineOrders.ref}`, baselineOrders.figures)] : []),
      ...(tracedOrders ? [costRow('this checkout, traced', tracedOrders)] : []),
    ],
  );
  const machineTable = machineCpuTable(figures.orders, baselineOrders, tracedOrders);
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
      notifyRow(
        `placed ${String(orderConnections)} at a time, in process (no HTTP)`,
        orderRuns.inProcess.notification,
      ),
      ...(baselineOrders
        ? [
            notifyRow(
              `placed ${String(orderConnections)} at a time, at ${baselineOrders.ref}`,
              baselineOrders.figures.notification,
            ),
          ]
        : []),
      ...(tracedOrders
        ? [
            notifyRow(
              `placed ${String(orderConnections)} at a time, traced`,
              tracedOrders.notification,
            ),
          ]
        : []),
    ],
  );
  const [bareSale] = summaries.saleBaselines;
  if (!bareSale) throw new Error('the sale was not measured against a bare server');
  // A sale row's first cells: who, decisions/s (median, min–max), p50 and p99.
  const decisionCells = (summary: Summary) => [
    summary.name,
    formatRate(summary.requestsPerSecond.median),
    `${formatRate(summary.requestsPerSecond.min)}–${formatRate(summary.requestsPerSecond.max)}`,
    ms(summary.p50Ms),
    ms(summary.p99Ms),
  ];
  const saleRow = (summary: Summary, sales: readonly SaleFigures[], ordinary: Summary) => [
    ...decisionCells(summary),
    sales.map((s) => String(s.placed)).join(' / '),
    sales.map((s) => String(s.soldOut)).join(' / '),
    String(sales.reduce((n, s) => n + s.oversold, 0)),
    sales.map((s) => String(s.droppedConnections)).join(' / '),
    sales.map((s) => s.cpuUsPerDecision.toFixed(0)).join(' / '),
    String(summary.errors),
    ratio(summary.requestsPerSecond.median, ordinary.requestsPerSecond.median),
    ratio(summary.requestsPerSecond.median, bareSale.requestsPerSecond.median),
  ];
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
      'connections dropped',
      'server CPU µs/decision',
      'other answers',
      'vs ordinary orders/s',
      'vs bare node:http',
    ],
    [
      ...summaries.saleBaselines.map((summary, k) => [
        ...decisionCells(summary),
        '–',
        '–',
        '–',
        '–',
        (figures.orders.saleBaselines[k]?.cpuUsPerDecision ?? [])
          .map((c) => c.toFixed(0))
          .join(' / '),
        String(summary.errors),
        '–',
        ratio(summary.requestsPerSecond.median, bareSale.requestsPerSecond.median),
      ]),
      saleRow(summaries.sale, orderRuns.flashSale, placeOrder),
      ...(summaries.baseline && baselineOrders
        ? [
            saleRow(
              summaries.baseline.sale,
              baselineOrders.figures.flashSale,
              summaries.baseline.placeOrder,
            ),
          ]
        : []),
      ...(summaries.traced && tracedOrders
        ? [saleRow(summaries.traced.sale, tracedOrders.flashSale, summaries.traced.placeOrder)]
        : []),
    ],
  );
  const [tracedEvery, tracedTenth] = figures.traced;
  const tracingCost = [
    '## Tracing’s cost',
    '',
    `Each figure beside the same service untraced, in the same rounds; the spans go to a Jaeger on this machine (OTLP/HTTP, batched), whose ingestion shares the two cores, so the cost is an upper bound. The catalog's cache-hit page at ${String(connections)} connections: every request traced ${ratio(tracedEvery.requestsPerSecond.median, catalogSummary.requestsPerSecond.median)} the throughput, one in ten (prod's ratio) ${ratio(tracedTenth.requestsPerSecond.median, catalogSummary.requestsPerSecond.median)}.`,
    ...(summaries.traced && tracedOrders
      ? [
          '',
          `Orders, every one traced (order and notification services): ${ratio(summaries.traced.placeOrder.requestsPerSecond.median, placeOrder.requestsPerSecond.median)} the orders/s at ${String(orderConnections)} connections; one at a time p50 ${ms(summaries.traced.soloOrder.p50Ms)} ms vs ${ms(soloOrder.p50Ms)} ms, p99 ${ms(summaries.traced.soloOrder.p99Ms)} ms vs ${ms(soloOrder.p99Ms)} ms; the order service's CPU per order ${ratio(median(tracedOrders.cpuMsPerOrder), median(orderRuns.cpuMsPerOrder))}.`,
        ]
      : []),
    '',
  ];
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
    `Through the edge (real nginx, two workers, its micro-cache in front of the catalog with its rate limiter on, read by a returning shopper): ${ratio(figures.edge.summary.requestsPerSecond.median, catalogSummary.requestsPerSecond.median)} the \`catalog\` row's throughput; ${(figures.edge.originShare * 100).toFixed(3)} % of the edge's answers reached the origin (counted by the catalog's own request counter).`,
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
    `The same cache-hit request from ${clients.toLocaleString('en-US')} clients (X-Forwarded-For, as behind the edge), the catalog with the limiter off and on, interleaved: throughput at ${String(connections)} connections (autocannon), then latency at ${String(latencyConnections)} connections timed in microseconds. Returning shoppers send the signed id cookie their first visit was given, so each is counted under its own budget and its address's ceiling; first visits send none, and each is issued an id. The limiter's product rule is raised from 100 to 500 a minute so nothing is refused, and its leases start as the default's do (one point of a shopper's budget, 16 of its address's ceiling): every request spends its budget, taken from Redis in leases. Redis commands per request are counted by Redis (a script's own commands included), the catalog's CPU per request by the catalog (\`process_cpu_seconds_total\`).`,
    '',
    limiterTable,
    '',
    limiterLatencyTable,
    '',
    `The least a limiter that tells ${clients.toLocaleString('en-US')} shoppers apart does, measured in the same rounds: bare express serving the same JSON to the same returning shoppers, without and with one middleware that keeps a counter per client in memory (a \`Map\` entry for the id cookie, one for the forwarded address; no Redis, no signature, no window, nothing refused). Its CPU per request is what the process itself counts (its \`GET /cpu\`). What that middleware costs is a floor for any such limiter: ${cpuDelta(floorCounting, floorBare)} µs a request here, where the catalog's 0.95× target leaves the limiter ${limiterBudget(limiterOff)} µs.`,
    '',
    limiterFloorTable,
    '',
    `## Placing orders`,
    '',
    `${String(repeats)} × ${String(ordersPerRun)} orders after a warm-up, ${String(orderConnections)} connections, each order a different user's (carts filled before the timed part), sandbox payment at 0 ms; the baseline writes the same rows (claim, order, item, outbox) in one transaction per order on one shard. The in-process row places the same orders by calling \`OrderService.place\` in a process wired as the order service is (the same databases' layout, Redis, gate, carts, relay and sweeper, with a notification service of its own), without HTTP, express, the token or the platform's per-request work: the service's CPU per order beside it is what those add.`,
    '',
    orderTable,
    '',
    `What an order costs, ${String(orderConnections)} at a time: the order service's CPU (its own \`process_cpu_seconds_total\`), the notification service's (from the first order until the last one's email was accepted: on this machine it shares the cores with the order path), and what the servers counted — statements on every MariaDB server (\`Questions\`) and Redis commands over the timed run, round trips to MariaDB (one general-log entry per query packet, however many statements it carries) over a counting pass of ${String(Math.max(10, Math.ceil(ordersPerRun / 10)))} orders with the log on. Every service's share is included: the outbox relays' and the notification's too.`,
    '',
    costTable,
    '',
    `What an order costs the whole machine, ${String(orderConnections)} at a time, beside what the raw transaction above costs it: the CPU each process spent (user and system time from /proc, grouped by process; the services under test by name), from the first order until the last one's email was accepted, and every core's busy time (the kernel's own, from /proc/stat, which also counts processes that came and went). Median of the repeats, ms per order or transaction. On this machine every server shares the same ${String(availableParallelism())} cores, so the busy time bounds the rate: ${String(availableParallelism())} × 1,000 ms divided by it is the most orders (or transactions) a second the machine could do at that cost.`,
    '',
    machineTable,
    '',
    "From the order's `createdAt` (stamped just before its commit transaction) to the SMTP server accepting its email: commit → outbox relay → Kafka → notification (delivery log on the shard) → SMTP; millisecond timestamps. With `--baseline`, each order service has topics, a notification service of its own checkout and an SMTP server of its own, so the row compares the whole pipeline (the Kafka client included).",
    '',
    notifyTable,
    '',
    '## Flash sale',
    '',
    `Per repeat, a product with ${String(sale.stock)} units, ${String(sale.buyers)} buyers each holding one in their cart, and all their checkouts sent at the same instant (one connection each) to one order replica. A decision is a placed order or a sold-out answer; oversold counts order lines for the product beyond its stock, summed on every shard (must be 0); connections dropped are the buyers' handshakes the kernel dropped on a full accept queue (its ListenOverflows counter), each resent a second later; the CPU per decision is the order service's process_cpu_seconds_total over the burst (each baseline's own CPU on its row), one figure per repeat. The first ratio compares with ordinary orders/s above; the second with the same burst (as many buyers, the same requests) against a bare node:http server that answers each buyer sold out at once, the most decisions a second this machine makes with no work at all. The second baseline is Mela's HTTP platform as every service runs it (express, request id, log line, metrics, security headers, JSON body, the token verified) answering sold out with nothing behind it: what the platform adds before any order logic.`,
    '',
    saleTable,
    '',
    ...tracingCost,
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

/** What an order and a raw transaction cost the machine, by process group (medians, ms). */
function machineCpuTable(
  orders: BenchFigures['orders'],
  baseline: BenchFigures['orders']['baseline'],
  traced: OrderServiceFigures | undefined,
): string {
  const columns: (readonly [string, readonly Record<string, number>[]])[] = [
    ['per order, this checkout', orders.machineMsPerOrder],
    ['per order, in process (no HTTP)', orders.inProcess.machineMsPerOrder],
    ...(baseline
      ? [[`per order, at ${baseline.ref}`, baseline.figures.machineMsPerOrder] as const]
      : []),
    ...(traced ? [['per order, traced', traced.machineMsPerOrder] as const] : []),
    ['per raw transaction', orders.machineMsPerRawInsert],
  ];
  const known: readonly string[] = Object.values(benchGroups);
  const seen = new Set(columns.flatMap(([, runs]) => runs.flatMap((r) => Object.keys(r))));
  const groups = [
    ...known.filter((g) => seen.has(g)),
    ...[...seen].filter((g) => !known.includes(g) && g !== machineGroup),
  ];
  const cell = (runs: readonly Record<string, number>[], group: string) =>
    runs.length === 0 ? '—' : median(runs.map((r) => r[group] ?? 0)).toFixed(2);
  const busy = (runs: readonly Record<string, number>[]) =>
    median(runs.map((r) => r[machineGroup] ?? Number.NaN));
  const cores = availableParallelism();
  return table(
    ['CPU ms (median of the repeats)', ...columns.map(([name]) => name)],
    [
      ...groups.map((group) => [group, ...columns.map(([, runs]) => cell(runs, group))]),
      [`**${machineGroup}**`, ...columns.map(([, runs]) => `**${cell(runs, machineGroup)}**`)],
      [
        `at most, a second, on ${String(cores)} cores`,
        ...columns.map(([, runs]) => formatRate((cores * 1000) / busy(runs))),
      ],
    ],
  );
}

/** The summaries the saved JSON holds beside the raw figures. */
export function orderSummaries(figures: BenchFigures, o: BenchOptions) {
  const { baseline } = figures.orders;
  return {
    ...serviceSummaries(figures.orders, o, ''),
    rawInsert: summarise(
      'one mysql2 transaction on one shard (the same rows)',
      figures.orders.rawInsert,
    ),
    inProcess: summarise(
      `OrderService.place in process, no HTTP, ${String(o.orderConnections)} at a time`,
      figures.orders.inProcess.orders,
    ),
    saleBaselines: figures.orders.saleBaselines.map((b) =>
      summarise(`${String(o.sale.buyers)} buyers at once, ${b.name}, each told sold out`, b.runs),
    ),
    ...(baseline
      ? { baseline: serviceSummaries(baseline.figures, o, `, at ${baseline.ref}`) }
      : {}),
    ...(figures.orders.traced
      ? { traced: serviceSummaries(figures.orders.traced, o, ', traced') }
      : {}),
  };
}

/** One order service's summaries; `at` names a baseline's rows. */
function serviceSummaries(figures: OrderServiceFigures, o: BenchOptions, at: string) {
  return {
    placeOrder: summarise(
      `POST /api/orders, ${String(o.orderConnections)} at a time${at}`,
      figures.orders,
    ),
    soloOrder: summarise(`POST /api/orders, one at a time${at}`, figures.solo),
    sale: summarise(
      `${String(o.sale.buyers)} buyers at once for ${String(o.sale.stock)} units${at}`,
      figures.flashSale.map((s) => s.decisions),
    ),
  };
}

/** How many µs of CPU a request `row` costs more than `base` (`–` where either is not counted). */
function cpuDelta(row: Summary, base: Summary): string {
  const [a, b] = [row.cpuMicrosPerRequest, base.cpuMicrosPerRequest];
  return a === undefined || b === undefined ? '–' : (a - b).toFixed(1);
}

/** The µs of CPU a request a limiter may add to `off` and keep 0.95× of its throughput. */
function limiterBudget(off: Summary): string {
  const cpu = off.cpuMicrosPerRequest;
  return cpu === undefined ? '–' : (cpu / 0.95 - cpu).toFixed(1);
}
