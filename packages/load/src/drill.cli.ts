#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { commandLine, positiveArg } from '@mela/core';
import { localFaults, mailboxOrderEmails } from '@mela/devstack';
import { localTopology } from '@mela/topology';
import { runDrills, type DrillRow } from './drill.js';
import { alignedTable, verdictLines } from './stats.js';

/**
 * `npm run drill [-- --only kafka,shard] [--hold 10] [--shoppers 8] [--json FILE]`: the fault
 * drills against the shop `npm start` runs — each part stopped under steady shopping and
 * brought back — with what shoppers saw, how long each took to serve again, and whether any
 * acknowledged order was lost, doubled or oversold, and every email sent once. Exits 1 when a
 * promise was broken.
 */
const { values } = commandLine({
  usage: 'npm run drill -- [options]',
  summary:
    'The fault drills against the shop npm start runs: each part stopped under steady shopping and brought back, with what shoppers saw, how long each took to serve again, and whether any acknowledged order was lost, doubled or oversold, and every email sent once. Exits 1 when a promise was broken.',
  options: {
    url: {
      type: 'string',
      default: `http://127.0.0.1:${process.env['MELA_EDGE_PORT'] ?? '8080'}`,
      value: 'URL',
      help: "the shop's edge",
    },
    only: {
      type: 'string',
      value: 'NAMES',
      help: 'the parts to stop, e.g. kafka,shard (default: all)',
    },
    hold: {
      type: 'string',
      default: '10',
      value: 'SECONDS',
      help: 'how long each part stays away',
    },
    calm: {
      type: 'string',
      default: '3',
      value: 'SECONDS',
      help: 'normal shopping before the first drill and between them',
    },
    shoppers: {
      type: 'string',
      default: '8',
      value: 'N',
      help: 'at once, each order by a new user',
    },
    settle: {
      type: 'string',
      default: '120',
      value: 'SECONDS',
      help: 'the longest wait for a part to serve again, and for late effects',
    },
    json: { type: 'string', value: 'FILE', help: 'the report as JSON' },
  },
});

const secret = process.env['AUTH_JWT_SECRET'];
if (secret === undefined) {
  process.stderr.write(
    'AUTH_JWT_SECRET is not set: run it as npm run drill (it reads .mela/local.env)\n',
  );
  process.exit(2);
}
const ready = await fetch(`${values.url}/api/catalog/categories`).catch(() => undefined);
if (ready?.status !== 200) {
  process.stderr.write(`no shop answers at ${values.url}: start it with npm start first\n`);
  process.exit(2);
}
const all = localFaults(localTopology());
const wanted = values.only?.split(',').map((w) => w.trim().toLowerCase());
const faults = wanted
  ? all.filter((f) => wanted.some((w) => f.name.toLowerCase().includes(w)))
  : all;
if (faults.length === 0) {
  process.stderr.write(`--only matches none of: ${all.map((f) => f.name).join('; ')}\n`);
  process.exit(2);
}
const emails = mailboxOrderEmails(Date.now());
const report = await runDrills({
  url: values.url,
  auth: {
    secret,
    ...(process.env['AUTH_JWT_ISSUER'] ? { issuer: process.env['AUTH_JWT_ISSUER'] } : {}),
    ...(process.env['AUTH_JWT_AUDIENCE'] ? { audience: process.env['AUTH_JWT_AUDIENCE'] } : {}),
  },
  faults,
  holdSeconds: positiveArg('hold', values.hold),
  calmSeconds: positiveArg('calm', values.calm),
  shoppers: positiveArg('shoppers', values.shoppers),
  settleSeconds: positiveArg('settle', values.settle),
  effects: emails,
  log: (line) => process.stderr.write(`[drill] ${line}\n`),
});

const statusText = (r: DrillRow) =>
  Object.entries(r.statuses)
    .map(([status, count]) => `${status}×${String(count)}`)
    .join(' ');
const header = [
  'what was stopped',
  'held',
  'back in',
  'requests',
  'answers',
  '503 allowed',
  'other 5xx',
  'orders 201',
];
const lines = [...report.rows, report.calm].map((r) => [
  r.fault,
  r.heldSeconds ? `${String(r.heldSeconds)} s` : '–',
  r.recoverySeconds === undefined
    ? 'NOT BACK'
    : r.heldSeconds
      ? `${r.recoverySeconds.toFixed(1)} s`
      : '–',
  String(r.requests),
  statusText(r),
  String(r.expected503),
  String(r.unexpected),
  String(r.acknowledged),
]);
process.stdout.write(
  [
    '',
    `drills against ${values.url}`,
    '',
    ...alignedTable(header, lines, { rule: true }),
    '',
    `orders: ${String(report.acknowledged)} acknowledged, ${String(report.lost)} lost, ${String(report.duplicateOrders)} duplicated; units oversold ${String(report.oversold)}, held by unfinished checkouts ${String(report.unitsHeld)}`,
    ...(report.emails
      ? [
          `emails: ${String(report.emails.delivered)} delivered, ${String(report.emails.duplicated)} duplicated, ${String(report.emails.missing)} missing; ${String(report.emails.resent)} resent with the same Message-ID`,
        ]
      : []),
    '',
    'promises:',
    ...verdictLines(report.verdicts, { met: 'kept', missed: 'BROKEN' }),
    '',
  ].join('\n'),
);
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.verdicts.every((v) => v.met) ? 0 : 1;
