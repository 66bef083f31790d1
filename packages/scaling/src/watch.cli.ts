#!/usr/bin/env node
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { stateDir } from '@mela/toolchain';
import { renderTable, ScaleWatcher, type ScaleEvent } from './watch.js';

/**
 * `npm run scale:watch [-- --kubeconfig FILE] [--namespace mela] [--record FILE] [--seconds N]`:
 * a live table of the namespace's HPAs (replicas current/desired, min–max, each metric against
 * its target), ready pods and recent scaling; `--record` writes a sample a second (JSON lines)
 * for scale:report. Without --kubeconfig: $KUBECONFIG, else the simulated cluster's, else ~/.kube.
 */
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    namespace: { type: 'string', default: 'mela' },
    record: { type: 'string' },
    seconds: { type: 'string' },
  },
});
const config = new KubeConfig();
const simulated = join(stateDir, 'sim-cluster', 'kubeconfig');
const file =
  values.kubeconfig ?? process.env['KUBECONFIG'] ?? (existsSync(simulated) ? simulated : undefined);
if (file === undefined) config.loadFromDefault();
else config.loadFromFile(file);

const watcher = new ScaleWatcher(config, values.namespace);
await watcher.start();
if (values.record) writeFileSync(values.record, '');
const recent: ScaleEvent[] = [];
const tty = process.stdout.isTTY;
const tick = setInterval(() => {
  const sample = watcher.sample();
  recent.push(...sample.events);
  if (values.record) appendFileSync(values.record, `${JSON.stringify(sample)}\n`);
  const table = renderTable(sample, recent);
  if (tty) process.stdout.write(`\x1b[H\x1b[2J${table}\n`);
  else
    for (const event of sample.events)
      process.stdout.write(`${event.at} ${event.object} ${event.message}\n`);
}, 1000);
const done = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
  if (values.seconds) setTimeout(resolve, Number(values.seconds) * 1000);
});
await done;
clearInterval(tick);
watcher.stop();
