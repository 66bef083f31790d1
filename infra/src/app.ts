import { App, YamlOutputType } from 'cdk8s';
import type { Environment } from './environments.js';
import { NamespaceChart, ServicesChart } from './services-chart.js';

/** Every chart of one environment in one cdk8s app, written to `outdir` (a file per chart). */
export function melaApp(env: Environment, outdir: string): App {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  new NamespaceChart(app, '00-namespace', env);
  new ServicesChart(app, '20-services', env);
  return app;
}
