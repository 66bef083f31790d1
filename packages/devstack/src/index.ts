export type { Dependency, DependencyStatus } from './dependency.js';
export { ensureKafkaJars, kafkaDependency, kafkaVersion, prepareKafkaNode } from './kafka.js';
export type { KafkaNode } from './kafka.js';
export { jaegerConfig, jaegerDependency, jaegerUrl, startJaeger } from './jaeger.js';
export type { JaegerListeners, RunningJaeger } from './jaeger.js';
export { mariadbDependency } from './mariadb.js';
export { redisArguments, redisDependency } from './redis.js';
export { startSmtpServer } from './smtp.js';
export type { ReceivedMail } from './smtp.js';
export {
  depsDown,
  depsStatus,
  depsUp,
  ensureTopics,
  localDependencies,
  migrateAll,
} from './stack.js';
export {
  localScrape,
  localTargets,
  prometheusConfig,
  prometheusRequirements,
  startLocalPrometheus,
  startPrometheus,
} from './prometheus.js';
export type { RunningPrometheus } from './prometheus.js';
export { localFaults, replicaCrash } from './faults.js';
export { mailboxOrderEmails, startMailbox } from './mailbox.js';
export type { DrillAction, Fault } from './faults.js';
export {
  localSecrets,
  localWiring,
  seedCatalog,
  serviceEnvironment,
  startServices,
} from './services.js';
export { launchChromium } from './browser.js';
export type { Browser } from './browser.js';
export { metricTotal } from './metrics.js';
export { createTestShards } from './scratch-shards.js';
export type { TestShards } from './scratch-shards.js';
export { createTestTopics, insertTestProducts, startCatalogAndCart } from './scratch-shop.js';
export type { TestProduct, TestTopics } from './scratch-shop.js';
export { startService } from './service-process.js';
export type { ServiceProcess } from './service-process.js';
