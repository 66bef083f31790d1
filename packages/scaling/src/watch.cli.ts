#!/usr/bin/env node
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine, positiveArg } from '@mela/core';
import { KubeConfig } from '@kubernetes/client-node';
import { stateDir } from '@mela/toolchain';
import { renderTable, ScaleWatcher, type ScaleEvent } from './watch.js';

/**
 * `npm run scale:watch [-- --kubeconfig FILE] [--namespace mela] [--record FILE] [--seconds N]`:
 * a live table of the namespace's HPAs (replicas current/desired, min–max, each metric against
 * its target), ready pods and recent scaling; `--record` writes a sample a second (JSON lines)
 * for scale:report. Without --kubeconfig: $KUBECONFIG, else the simulated cluster's, else ~/.kube.
 */
const { values } = commandLine({
  usage: 'npm run scale:watch -- [options]',
  summary:
    "A live table of the namespace's HPAs (replicas current/desired, min–max, each metric against its target), ready pods and recent scaling.",
  options: {
    kubeconfig: {
      type: 'string',
      value: 'FILE',
      help: "default: $KUBECONFIG, else the simulated cluster's, else ~/.kube/config",
    },
    namespace: { type: 'string', default: 'mela', value: 'NAME', help: "the shop's" },
    record: {
      type: 'string',
      value: 'FILE',
      help: 'a sample a second as JSON lines, for scale:report',
    },
    seconds: { type: 'string', value: 'N', help: 'stop after N seconds (default: at Ctrl-C)' },
  },
});
const seconds =
  values.seconds === undefined ? undefined : positiveArg('seconds', values.seconds, false);
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
  if (seconds !== undefined) setTimeout(resolve, seconds * 1000);
});
await done;
clearInterval(tick);
watcher.stop();
