#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine } from '@mela/core';
import { buildReport, parseLines, type LoadPoint } from './report.js';
import type { ScaleSample } from './watch.js';

/**
 * `npm run scale:report -- --watch FILE [--load FILE] --out DIR [--title TEXT]`: turns
 * scale:watch's record (and the load driver's) into DIR/chart.svg (load, p99 and replicas over
 * time) and DIR/README.md (a summary).
 */
const { values } = commandLine({
  usage: 'npm run scale:report -- --watch FILE [--load FILE] --out DIR [--title TEXT]',
  summary:
    "Turns scale:watch's record (and the load driver's) into DIR/chart.svg (load, p99 and replicas over time) and DIR/README.md (a summary).",
  options: {
    watch: { type: 'string', value: 'FILE', help: "scale:watch's --record (required)" },
    load: { type: 'string', value: 'FILE', help: "npm run load's --record" },
    out: { type: 'string', value: 'DIR', help: 'where the chart and summary go (required)' },
    title: {
      type: 'string',
      default: 'Mela scaling under load',
      value: 'TEXT',
      help: "the chart's",
    },
  },
});
if (values.watch === undefined || values.out === undefined) {
  process.stderr.write('usage: npm run scale:report -- --watch FILE [--load FILE] --out DIR\n');
  process.exit(2);
}
const watch = parseLines<ScaleSample>(readFileSync(values.watch, 'utf8'));
const load = values.load ? parseLines<LoadPoint>(readFileSync(values.load, 'utf8')) : [];
const report = buildReport(watch, load, { title: values.title });
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'chart.svg'), report.svg);
writeFileSync(join(values.out, 'README.md'), `${report.markdown}\n`);
process.stdout.write(`${join(values.out, 'chart.svg')}\n${join(values.out, 'README.md')}\n`);
