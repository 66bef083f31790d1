import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, YamlOutputType } from 'cdk8s';
import { allAddons, type Environment } from './environments.js';
import { DataChart } from './data-chart.js';
import { EdgeCacheChart } from './edge-cache-chart.js';
import { GatewayChart } from './gateway-chart.js';
import { KafkaChart } from './kafka-chart.js';
import { MonitoringChart } from './monitoring-chart.js';
import { ClusterChart, ServicesChart } from './services-chart.js';

/**
 * Every chart of one environment in one cdk8s app, written to `outdir` (a file per chart).
 * For the Helm chart the namespace is left out: `helm install -n mela --create-namespace` makes it.
 */
export function melaApp(
  env: Environment,
  outdir: string,
  options: { readonly namespace?: boolean } = {},
): App {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  new ClusterChart(app, '00-cluster', env, { namespace: options.namespace ?? true });
  new DataChart(app, '10-data', env);
  new KafkaChart(app, '15-kafka', env);
  new ServicesChart(app, '20-services', env);
  const addons = env.addons ?? allAddons;
  if (addons.gateway) {
    new EdgeCacheChart(app, '25-edge-cache', env);
    new GatewayChart(app, '30-gateway', env);
  }
  if (addons.prometheusOperator) new MonitoringChart(app, '40-monitoring', env);
  return app;
}

/** `melaApp`'s files, synthesized in a temporary folder: file name → its text. */
export function synthesize(
  env: Environment,
  options: { readonly namespace?: boolean } = {},
): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), `mela-synth-${env.name}-`));
  try {
    melaApp(env, dir, options).synth();
    return new Map(
      readdirSync(dir)
        .sort()
        .map((file) => [file, readFileSync(join(dir, file), 'utf8')]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
