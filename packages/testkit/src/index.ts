export { artifactPath } from './artifacts.js';
export { KubeApiError, startOwnKubeApi } from './kube.js';
export type { KubeObject, OwnKubeApi } from './kube.js';
export { metricTotal } from './metrics.js';
export { httpRequest } from './http.js';
export type { HttpAnswer } from './http.js';
export { startOwnEdge } from './edge.js';
export type { EdgeLogEntry, OwnEdge } from './edge.js';
export { startShopBehindEdge } from './edge-shop.js';
export type { ShopBehindEdge, ShopBehindEdgeOptions } from './edge-shop.js';
export { startOwnKafka } from './kafka.js';
export type { OwnKafka } from './kafka.js';
export { blackHole, deadPort, deadPort as freePort } from './network.js';
export { stopChild } from './process.js';
export { startOwnRedis } from './redis.js';
export type { OwnRedis } from './redis.js';
export { startService } from './services.js';
export type { ServiceProcess } from './services.js';
export {
  createTestTopics,
  createTopicsAndWait,
  insertTestProducts,
  startCatalogAndCart,
} from './shop.js';
export type { TestProduct, TestTopics } from './shop.js';
export { createTestShards } from './shards.js';
export type { TestShards } from './shards.js';
export { until } from './wait.js';
