#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine, positiveArg } from '@mela/core';
import { repoRoot } from '@mela/toolchain';
import { runBench, type BenchOptions } from './bench.js';
import { benchReport, orderSummaries } from './report.js';

/**
 * `npm run bench`: the catalog's hot path, orders, the flash sale, the limiter and scatter
 * queries measured side by side with bare baselines, on the same machine in the same run (see
 * runBench). Figures are printed as markdown tables with ratios and saved as JSON under
 * .mela/bench/.
 */
const { values } = commandLine({
  usage: 'npm run bench -- [options]',
  summary:
    'Measures the product page, the rate limiter, orders, the flash sale, scatter queries and the Kafka clients beside bare baselines on this machine, in one run (deps up, migrated and seeded first). Prints the tables and saves the figures as JSON.',
  options: {
    duration: { type: 'string', default: '8', value: 'SECONDS', help: 'each timed run' },
    warmup: { type: 'string', default: '3', value: 'SECONDS', help: 'each warm-up' },
    repeats: { type: 'string', default: '3', value: 'N', help: 'rounds of every comparison' },
    connections: { type: 'string', default: '32', value: 'N', help: 'for the product page' },
    products: { type: 'string', default: '100000', value: 'N', help: 'in the demo catalog' },
    orders: { type: 'string', default: '1500', value: 'N', help: 'placed per round' },
    'order-connections': { type: 'string', default: '16', value: 'N', help: 'orders at a time' },
    'sale-buyers': { type: 'string', default: '1000', value: 'N', help: 'at once in a flash sale' },
    'sale-stock': { type: 'string', default: '100', value: 'N', help: 'units for sale' },
    out: { type: 'string', value: 'DIR', help: 'where the JSON goes (default: .mela/bench)' },
    baseline: {
      type: 'string',
      value: 'COMMIT',
      help: "a commit whose services run beside this checkout's (an A/B in one run), e.g. main",
    },
    smoke: { type: 'boolean', default: false, help: 'one short pass, as CI runs it' },
  },
});
const smoke = values.smoke;
const count = (name: keyof typeof values) => positiveArg(name, String(values[name]));
const options: BenchOptions = {
  duration: smoke ? 1 : count('duration'),
  warmup: smoke ? 1 : count('warmup'),
  repeats: smoke ? 1 : count('repeats'),
  connections: count('connections'),
  products: count('products'),
  orders: smoke ? 30 : count('orders'),
  orderConnections: count('order-connections'),
  sale: {
    buyers: smoke ? 50 : count('sale-buyers'),
    stock: smoke ? 10 : count('sale-stock'),
  },
  baseline: values.baseline,
  say: (line) => process.stderr.write(`[bench] ${line}\n`),
};
const outDir = values.out ?? join(repoRoot, '.mela', 'bench');

const figures = await runBench(options);
const report = benchReport(figures, options);
process.stdout.write(`${report}\n`);
mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const summaries = orderSummaries(figures, options);
writeFileSync(
  join(outDir, `catalog-${stamp}.json`),
  JSON.stringify(
    {
      smoke,
      duration: options.duration,
      warmup: options.warmup,
      repeats: options.repeats,
      connections: options.connections,
      throughput: figures.throughput,
      edge: figures.edge,
      baseline: figures.baseline,
      traced: figures.traced,
      latency: figures.latency,
      rateLimiter: figures.rateLimiter,
      rateLimiterLatency: figures.rateLimiterLatency,
      limiterFloor: figures.limiterFloor,
      orders: {
        placeOrder: summaries.placeOrder,
        soloOrder: summaries.soloOrder,
        rawInsert: summaries.rawInsert,
        notification: figures.orders.notification,
        soloNotification: figures.orders.soloNotification,
        cpuMsPerOrder: figures.orders.cpuMsPerOrder,
        notificationCpuMsPerOrder: figures.orders.notificationCpuMsPerOrder,
        sqlPerOrder: figures.orders.sqlPerOrder,
        redisPerOrder: figures.orders.redisPerOrder,
        roundTripsPerOrder: figures.orders.roundTripsPerOrder,
        ...(figures.orders.baseline && summaries.baseline
          ? {
              baseline: {
                ref: figures.orders.baseline.ref,
                figures: figures.orders.baseline.figures,
                summaries: summaries.baseline,
              },
            }
          : {}),
        ...(figures.orders.traced && summaries.traced
          ? { traced: { figures: figures.orders.traced, summaries: summaries.traced } }
          : {}),
      },
      flashSale: {
        sale: options.sale,
        runs: figures.orders.flashSale,
        summary: summaries.sale,
        baselines: figures.orders.saleBaselines.map((b, k) => ({
          ...b,
          summary: summaries.saleBaselines[k],
        })),
      },
      scatter: figures.scatter,
      kafkaClients: figures.kafkaClients,
    },
    null,
    2,
  ),
);
writeFileSync(join(outDir, 'latest.md'), report);
options.say(`saved to ${outDir}`);
