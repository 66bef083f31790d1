#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport, parseLines, type LoadPoint } from './report.js';
import type { ScaleSample } from './watch.js';

/**
 * `npm run scale:report -- --watch FILE [--load FILE] --out DIR [--title TEXT]`: turns
 * scale:watch's record (and the load driver's) into DIR/chart.svg (load, p99 and replicas over
 * time) and DIR/README.md (a summary).
 */
const { values } = parseArgs({
  options: {
    watch: { type: 'string' },
    load: { type: 'string' },
    out: { type: 'string' },
    title: { type: 'string', default: 'Mela scaling under load' },
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
