#!/usr/bin/env node
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine, positiveArg } from '@mela/core';
import { bbdEnvironment, defaultInputs, measuredFigures, report } from './inputs.js';
import { plan } from './model.js';

/**
 * `npm run capacity -- --requests-per-day 5e9 --peak-factor 10 [--orders-per-day 2e7]
 * [--bench FILE] [--no-write]`: the capacity model on the latest `npm run bench` figures (or
 * the documented ones), printed with its assumptions, and the `bbd` environment it implies
 * written to infra/environments/bbd.json (then `npm run synth` renders charts/bbd).
 */
const { values } = commandLine({
  usage: 'npm run capacity -- [options]',
  summary:
    "The capacity model on the latest npm run bench figures (or those in docs/performance.md): the replicas each service needs for the day's traffic, printed with its assumptions, and the bbd environment it implies written to infra/environments/bbd.json (npm run synth renders it as charts/bbd).",
  options: {
    'requests-per-day': { type: 'string', default: '5e9', value: 'N', help: 'all requests' },
    'peak-factor': {
      type: 'string',
      default: '10',
      value: 'F',
      help: "the peak over the day's mean",
    },
    'orders-per-day': { type: 'string', default: '2e7', value: 'N', help: 'orders placed' },
    bench: {
      type: 'string',
      value: 'FILE',
      help: "a bench run's JSON (default: the latest full run)",
    },
    'no-write': { type: 'boolean', default: false, help: 'print only; leave bbd.json as it is' },
  },
});
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const number = (name: keyof typeof values) => positiveArg(name, String(values[name]), false);
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
  requestsPerDay: number('requests-per-day'),
  peakFactor: number('peak-factor'),
  ordersPerDay: number('orders-per-day'),
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
