#!/usr/bin/env node
import { Registry } from 'prom-client';
import { commandLine } from '@mela/core';
import { loadShardingConfig, openShardedDatabase } from '@mela/sharding';
import { seedCatalog } from './adapters/catalog.seeder.js';

/** `mela-catalog-seed [--products 100000] [--reset]`: loads the demo catalog (reads SHARD_MAP…). */
const { values } = commandLine({
  usage: 'mela-catalog-seed [--products N] [--reset]',
  summary:
    'Loads the demo catalog into the shards SHARD_MAP names (skipped when that many products are there).',
  options: {
    products: { type: 'string', default: '100000', value: 'N', help: 'how many, at most 10000000' },
    reset: { type: 'boolean', default: false, help: 'load it again over what is there' },
  },
});
const products = Number(values.products);
if (!Number.isInteger(products) || products < 1 || products > 10_000_000) {
  process.stderr.write('--products must be an integer from 1 to 10000000\n');
  process.exit(2);
}
// A batch job: building the full-text index over 100k rows takes far longer than a request's
// statement timeout, more so on a busy machine, so the seeder waits up to ten minutes.
const db = openShardedDatabase(
  { ...loadShardingConfig(process.env), queryTimeoutMs: 600_000 },
  new Registry(),
);
try {
  const report = await seedCatalog(db, {
    products,
    reset: values.reset,
    log: (line) => process.stderr.write(`[seed] ${line}\n`),
  });
  process.stdout.write(
    report.skipped
      ? `the catalog already has ${report.products} products; --reset to load it again\n`
      : `loaded ${report.products} products in ${report.categories} categories in ${report.seconds} s\n`,
  );
} finally {
  await db.close();
}
