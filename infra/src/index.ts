export { melaApp, synthesize } from './app.js';
export { allAddons, dev, devVitess, environments, localCluster, prod } from './environments.js';
export type {
  ClusterAddons,
  Environment,
  ExternalData,
  ExternalEndpoint,
  VitessOptions,
} from './environments.js';
export { Microservice } from './microservice.js';
export type {
  ComputeResources,
  EgressPeer,
  IngressPeers,
  MicroserviceProps,
} from './microservice.js';
export {
  ClusterChart,
  ServicesChart,
  dataLayer,
  secrets,
  vschemaConfig,
} from './services-chart.js';
export {
  GatewayChart,
  envoyGatewayController,
  gatewayService,
  publicRoutes,
} from './gateway-chart.js';
export { DataChart, mysqlSecret, mysqlShards, shardHost, shardServerImage } from './data-chart.js';
export { KafkaChart, kafkaCluster, kafkaVersion } from './kafka-chart.js';
export { chartVersion, escapeHelmTemplates, writeHelmChart } from './helm.js';
export { chartDefaults, chartValuesSchema, markedEnvironment } from './helm-values.js';
export type { ChartValues } from './helm-values.js';
export { EdgeCacheChart, edgeCache } from './edge-cache-chart.js';
export {
  VitessShards,
  vitessCluster,
  vitessShardMap,
  vitessShards,
  vtgateUsers,
} from './vitess.js';
export { MonitoringChart, monitoringLabels } from './monitoring-chart.js';
export {
  LoadTestChart,
  k6RemoteWrite,
  k6RunnerImage,
  k6Scenarios,
  k6Scripts,
  loadTestApp,
} from './load-test-chart.js';
export { externalPeers, externalService } from './external-data.js';
