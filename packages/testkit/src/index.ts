export { artifactPath } from './artifacts.js';
export { KubeApiError, startOwnKubeApi } from './kube.js';
export type { KubeObject, OwnKubeApi } from './kube.js';
export { startOwnMariaDb } from './mariadb.js';
export type { OwnMariaDb } from './mariadb.js';
// Re-exported so that a test gets its helpers from one place; they live where they belong
// (devstack runs Mela's own databases, topics and service processes for the bench too).
export {
  createTestShards,
  createTestTopics,
  insertTestProducts,
  launchChromium,
  metricTotal,
  startCatalogAndCart,
  startService,
} from '@mela/devstack';
export type { Browser, ServiceProcess, TestProduct, TestShards, TestTopics } from '@mela/devstack';
export { startOwnEdge } from '@mela/edge';
export type { EdgeLogEntry, OwnEdge } from '@mela/edge';
export { acceptBacklog, heldBacklog, httpRequest, onLoopback, stopChild } from '@mela/toolchain';
export type { HttpAnswer } from '@mela/toolchain';
export { startShopBehindEdge } from './edge-shop.js';
export type { ShopBehindEdge, ShopBehindEdgeOptions } from './edge-shop.js';
export { startOwnKafka } from './kafka.js';
export type { OwnKafka } from './kafka.js';
export { blackHole, deadPort, deadPorts, deadPort as freePort } from './network.js';
export { startOwnRedis } from './redis.js';
export { readTopic } from './topic-reader.js';
export type { TopicReader } from './topic-reader.js';
export type { OwnRedis } from './redis.js';
export { until } from './wait.js';
