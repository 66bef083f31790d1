#!/usr/bin/env node
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { melaApp } from './app.js';
import { environments } from './environments.js';
import { writeHelmChart } from './helm.js';
import { loadTestApp } from './load-test-chart.js';

/**
 * `npm run synth`: writes each environment's manifests to `charts/<env>/` (deterministic:
 * the same code gives the same bytes), replacing what was there.
 */
const charts = fileURLToPath(new URL('../../../charts/', import.meta.url));
for (const env of Object.values(environments)) {
  const outdir = join(charts, env.name);
  rmSync(outdir, { recursive: true, force: true });
  melaApp(env, outdir).synth();
  process.stderr.write(`[synth] ${env.name}: ${outdir}\n`);
}

// The k6 load tests (for the dev cluster): applied on purpose, never with the environment.
const load = join(charts, 'load');
rmSync(load, { recursive: true, force: true });
loadTestApp(environments.dev, load).synth();
process.stderr.write(`[synth] k6 load tests: ${load}\n`);

// The prod environment as a Helm chart (charts/mela), for `helm install`.
const helmChart = join(charts, 'mela');
writeHelmChart(helmChart);
process.stderr.write(`[synth] helm chart: ${helmChart}\n`);
