#!/usr/bin/env node
import { appendFileSync, writeFileSync } from 'node:fs';
import { commandLine, positiveArg } from '@mela/core';
import { runLoad, type LoadSample, type SaleOutcome, type Scenario } from './driver.js';
import type { MachineShare } from './machine.js';
import { table, verdictLines } from './stats.js';

/**
 * `npm run load -- --scenario flash-sale|shop [--url URL] [--peak 400] [--scale 1] [--users 500]
 * [--buyers 2000] [--stock 100] [--bots 4] [--record FILE] [--json FILE]`: drives the local
 * shop with the k6 scenarios' shapes, a live progress line, a summary and the SLO verdicts.
 * Exits 1 when an objective was missed (as k6 does when a threshold fails).
 */
const { values } = commandLine({
  usage: 'npm run load -- [options]',
  summary:
    "Drives the shop npm start runs with the k6 scenarios' shapes: a live progress line, a summary and the service-level objectives' verdicts. Exits 1 when an objective was missed.",
  options: {
    scenario: { type: 'string', default: 'flash-sale', value: 'NAME', help: 'flash-sale or shop' },
    url: {
      type: 'string',
      default: `http://127.0.0.1:${process.env['MELA_EDGE_PORT'] ?? '8080'}`,
      value: 'URL',
      help: "the shop's edge",
    },
    peak: {
      type: 'string',
      default: '400',
      value: 'N',
      help: 'requests a second at the ramp’s peak',
    },
    scale: {
      type: 'string',
      default: '1',
      value: 'F',
      help: 'stretch (> 1) or shrink (< 1) the stages',
    },
    users: {
      type: 'string',
      default: '500',
      value: 'N',
      help: 'shoppers, each with its own token',
    },
    buyers: {
      type: 'string',
      default: '2000',
      value: 'N',
      help: 'flash-sale: buyers racing at once',
    },
    stock: { type: 'string', default: '100', value: 'N', help: 'flash-sale: units on sale' },
    bots: {
      type: 'string',
      default: '4',
      value: 'N',
      help: 'flash-sale: bots hammering the product',
    },
    record: {
      type: 'string',
      value: 'FILE',
      help: 'each second as a JSON line (for scale:report)',
    },
    json: { type: 'string', value: 'FILE', help: 'the result as JSON' },
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
        answeredLine(result.sale.answered),
        '',
        ...(result.sale.machine ? [...machineLines(result.sale.machine), ''] : []),
      ]
    : []),
  'objectives:',
  ...verdictLines(result.verdicts, { met: 'met', missed: 'MISSED' }),
  '',
];
process.stdout.write(out.join('\n'));
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
process.exitCode = result.verdicts.every((v) => v.met) ? 0 : 1;

/** When the sale's answers came: the p99 of a burst is about the time to decide it all. */
function answeredLine(answered: SaleOutcome['answered']): string {
  const at = (ms: number) => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
  const placed = answered.placed
    ? `; the placed orders from ${at(answered.placed.first)} to ${at(answered.placed.last)}`
    : '';
  return `sale: answered from ${at(answered.first)} to ${at(answered.last)} after the buyers' click${placed}`;
}

/** Where this machine's cores went during the sale's burst, per decision. */
function machineLines(machine: MachineShare): string[] {
  const width = Math.max(...machine.perUnitMs.map(([group]) => group.length));
  return [
    `this machine during the sale's burst (${machine.seconds.toFixed(1)} s, ${String(machine.cores)} cores ${(machine.busy * 100).toFixed(0)} % busy; browsing and bots go on), CPU per decision:`,
    ...machine.perUnitMs
      .filter(([, ms]) => ms >= 0.005)
      .map(([group, ms]) => `  ${group.padEnd(width)}  ${ms.toFixed(2).padStart(6)} ms`),
  ];
}
