#!/usr/bin/env node
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bbdEnvironment, defaultInputs, measuredFigures, report } from './inputs.js';
import { plan } from './model.js';

/**
 * `npm run capacity -- --requests-per-day 5e9 --peak-factor 10 [--orders-per-day 2e7]
 * [--bench FILE] [--no-write]`: the capacity model on the latest `npm run bench` figures (or
 * the documented ones), printed with its assumptions, and the `bbd` environment it implies
 * written to infra/environments/bbd.json (then `npm run synth` renders charts/bbd).
 */
const { values } = parseArgs({
  options: {
    'requests-per-day': { type: 'string', default: '5e9' },
    'peak-factor': { type: 'string', default: '10' },
    'orders-per-day': { type: 'string', default: '2e7' },
    bench: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const number = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`--${name} must be a positive number\n`);
    process.exit(2);
  }
  return n;
};
let benchFile = values.bench;
if (benchFile === undefined) {
  const dir = join(root, '.mela', 'bench');
  const runs = (() => {
    try {
      return readdirSync(dir)
        .filter((f) => /^catalog-.*\.json$/.test(f))
        .sort();
    } catch {
      return [];
    }
  })();
  const full = runs.filter(
    (f) => !(JSON.parse(readFileSync(join(dir, f), 'utf8')) as { smoke?: boolean }).smoke,
  );
  const latest = full.at(-1);
  if (latest !== undefined) benchFile = join(dir, latest);
}
const measured =
  benchFile === undefined
    ? undefined
    : measuredFigures(JSON.parse(readFileSync(benchFile, 'utf8')));
const inputs = defaultInputs({
  requestsPerDay: number('requests-per-day', values['requests-per-day']),
  peakFactor: number('peak-factor', values['peak-factor']),
  ordersPerDay: number('orders-per-day', values['orders-per-day']),
  ...(measured ? { measured } : {}),
});
const result = plan(inputs);
process.stdout.write(
  `${report(inputs, result, benchFile === undefined ? 'the figures in docs/performance.md (no npm run bench result here)' : relative(root, benchFile))}\n`,
);
if (!values['no-write']) {
  const file = join(root, 'infra', 'environments', 'bbd.json');
  const args = process.argv.slice(2).filter((a) => a !== '--no-write');
  writeFileSync(
    file,
    `${JSON.stringify(bbdEnvironment(inputs, result, `npm run capacity -- ${args.join(' ')}`.trim()), null, 2)}\n`,
  );
  process.stdout.write(`\nwrote ${file}; npm run synth renders it as charts/bbd\n`);
}
