#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@mela/toolchain';
import { runBench, type BenchOptions } from './bench.js';
import { benchReport, orderSummaries } from './report.js';

/**
 * `npm run bench`: the catalog's hot path, orders, the flash sale, the limiter and scatter
 * queries measured side by side with bare baselines, on the same machine in the same run (see
 * runBench). Figures are printed as markdown tables with ratios and saved as JSON under
 * .mela/bench/.
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
    /** A commit to run beside this checkout's catalog (an A/B in one run), e.g. main or HEAD~1. */
    baseline: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = values.smoke;
const options: BenchOptions = {
  duration: smoke ? 1 : Number(values.duration),
  warmup: smoke ? 1 : Number(values.warmup),
  repeats: smoke ? 1 : Number(values.repeats),
  connections: Number(values.connections),
  products: Number(values.products),
  orders: smoke ? 30 : Number(values.orders),
  orderConnections: Number(values['order-connections']),
  sale: {
    buyers: smoke ? 50 : Number(values['sale-buyers']),
    stock: smoke ? 10 : Number(values['sale-stock']),
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
