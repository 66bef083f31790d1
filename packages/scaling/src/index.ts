export { adapterHost, scalableManifests, startSimCluster } from './sim-cluster.js';
export type { SimCluster } from './sim-cluster.js';
export type { Manifest } from '@mela/toolchain';
export { prometheusSource, requestsMetric, startMetricsAdapter } from './metrics-adapter.js';
export type { MetricsAdapter, MetricsSource, ServiceLoad } from './metrics-adapter.js';
export { hpaState, renderTable, ScaleWatcher } from './watch.js';
export type { DeploymentState, HpaState, ScaleEvent, ScaleSample } from './watch.js';
export { buildReport, parseLines } from './report.js';
export type { LoadPoint, ScaleReport } from './report.js';
