#!/usr/bin/env node
import { appendFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runLoad, type LoadSample, type Scenario } from './driver.js';
import { positiveArg, table, verdictLines } from './stats.js';

/**
 * `npm run load -- --scenario flash-sale|shop [--url URL] [--peak 400] [--scale 1] [--users 500]
 * [--buyers 2000] [--stock 100] [--bots 4] [--record FILE] [--json FILE]`: drives the local
 * shop with the k6 scenarios' shapes, a live progress line, a summary and the SLO verdicts.
 * Exits 1 when an objective was missed (as k6 does when a threshold fails).
 */
const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'flash-sale' },
    url: { type: 'string', default: `http://127.0.0.1:${process.env['MELA_EDGE_PORT'] ?? '8080'}` },
    peak: { type: 'string', default: '400' },
    scale: { type: 'string', default: '1' },
    users: { type: 'string', default: '500' },
    buyers: { type: 'string', default: '2000' },
    stock: { type: 'string', default: '100' },
    bots: { type: 'string', default: '4' },
    record: { type: 'string' },
    json: { type: 'string' },
  },
});

const scenarios: readonly string[] = ['shop', 'flash-sale'] satisfies Scenario[];
if (!scenarios.includes(values.scenario)) {
  process.stderr.write('--scenario must be shop or flash-sale\n');
  process.exit(2);
}
const scenario = values.scenario as Scenario;
const secret = process.env['AUTH_JWT_SECRET'];
if (secret === undefined) {
  process.stderr.write(
    'AUTH_JWT_SECRET is not set: run it as npm run load (it reads .mela/local.env)\n',
  );
  process.exit(2);
}
if (values.record) writeFileSync(values.record, '');
const tty = process.stderr.isTTY;
const show = (s: LoadSample) => {
  const line = `[load] ${scenario} ${String(s.t).padStart(3)} s · ${s.phase} · aiming ${String(s.target)}/s · ${String(s.rps)} answered/s · p99 ${Number.isNaN(s.p99) ? '–' : s.p99.toFixed(0)} ms · 429 ${String(s.limited)} · 5xx/err ${String(s.serverFailures)}`;
  if (tty) process.stderr.write(`\r${line.padEnd(110)}`);
  else if (s.t % 5 === 0) process.stderr.write(`${line}\n`);
  if (values.record) appendFileSync(values.record, `${JSON.stringify(s)}\n`);
};

const result = await runLoad({
  url: values.url,
  scenario,
  peak: positiveArg('peak', values.peak),
  scale: positiveArg('scale', values.scale, false),
  users: positiveArg('users', values.users),
  buyers: positiveArg('buyers', values.buyers),
  stock: positiveArg('stock', values.stock),
  bots: positiveArg('bots', values.bots),
  auth: {
    secret,
    ...(process.env['AUTH_JWT_ISSUER'] ? { issuer: process.env['AUTH_JWT_ISSUER'] } : {}),
    ...(process.env['AUTH_JWT_AUDIENCE'] ? { audience: process.env['AUTH_JWT_AUDIENCE'] } : {}),
  },
  onSecond: show,
});
if (tty) process.stderr.write('\n');
const out = [
  '',
  `${scenario}: ${result.seconds.toFixed(0)} s against ${values.url}`,
  '',
  table(result.rows),
  '',
  ...(result.sale
    ? [
        `sale: ${String(result.sale.placed)} placed, ${String(result.sale.soldOut)} sold out of ${String(result.sale.buyers)} buyers for ${String(result.sale.stock)} units; ${result.sale.decisionsPerSecond.toFixed(0)} decisions/s; oversold ${String(result.sale.oversold)}`,
        '',
      ]
    : []),
  'objectives:',
  ...verdictLines(result.verdicts, { met: 'met', missed: 'MISSED' }),
  '',
];
process.stdout.write(out.join('\n'));
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
process.exitCode = result.verdicts.every((v) => v.met) ? 0 : 1;
