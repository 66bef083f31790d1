import { App, YamlOutputType } from 'cdk8s';
import type { Environment } from './environments.js';
import { DataChart } from './data-chart.js';
import { GatewayChart } from './gateway-chart.js';
import { KafkaChart } from './kafka-chart.js';
import { ClusterChart, ServicesChart } from './services-chart.js';

/** Every chart of one environment in one cdk8s app, written to `outdir` (a file per chart). */
export function melaApp(env: Environment, outdir: string): App {
  const app = new App({
    outdir,
    outputFileExtension: '.yaml',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
  });
  new ClusterChart(app, '00-cluster', env);
  new DataChart(app, '10-data', env);
  new KafkaChart(app, '15-kafka', env);
  new ServicesChart(app, '20-services', env);
  new GatewayChart(app, '30-gateway', env);
  return app;
}
