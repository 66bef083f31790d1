#!/usr/bin/env node
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine } from '@mela/core';
import { repoRoot, stateDir, untilSignal } from '@mela/toolchain';
import { prometheusSource } from './metrics-adapter.js';
import { scalableManifests, startSimCluster } from './sim-cluster.js';

/**
 * `npm run cluster:sim [-- --prometheus URL]`: the simulated cluster on this machine, running
 * charts/dev's services on kwok nodes; their HPAs read the load `npm start`'s shop is under
 * (from its Prometheus), so `npm run load` makes them scale. Ctrl-C stops it.
 */
const { values } = commandLine({
  usage: 'npm run cluster:sim -- [options]',
  summary:
    "A simulated cluster on this machine (a control plane and kwok nodes) running charts/dev's services, whose HPAs read the load npm start's shop is under, so npm run load makes them scale. Ctrl-C stops it.",
  options: {
    prometheus: {
      type: 'string',
      default: `http://127.0.0.1:${process.env['MELA_PROMETHEUS_PORT'] ?? '9095'}`,
      value: 'URL',
      help: "the Prometheus that scrapes the shop (npm start's)",
    },
  },
});
const dir = join(stateDir, 'sim-cluster');
rmSync(dir, { recursive: true, force: true });
process.stderr.write(
  '[mela] starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and the metrics adapter\n',
);
const sim = await startSimCluster({ dir, source: prometheusSource(values.prometheus) });
await sim.apply(scalableManifests(join(repoRoot, 'charts/dev')));
process.stdout.write(
  [
    '',
    'The simulated cluster is running (3 kwok nodes; charts/dev services with their HPAs):',
    `  kubeconfig   ${sim.kubeconfig}`,
    `  kubectl      kubectl --kubeconfig ${sim.kubeconfig} -n mela get hpa,deploy,pods`,
    '  watch        npm run scale:watch -- --record .mela/scale-watch.jsonl',
    `  metrics      the load of the shop npm start runs, from ${values.prometheus}`,
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n'),
);
await untilSignal();
await sim.stop();
