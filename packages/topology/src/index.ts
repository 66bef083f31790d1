export {
  kafkaBrokers,
  localShardMap,
  loadBalancingAlgorithms,
  localTopology,
  mysqlUrl,
  parseLoadBalancing,
  redisUrl,
  replicaPorts,
  serviceNames,
} from './local.js';
export type {
  LoadBalancing,
  LoadBalancingAlgorithm,
  LocalTopology,
  MysqlInstance,
  ServiceName,
  ServiceTopology,
} from './local.js';
