export {
  kafkaBrokers,
  localClusterNetwork,
  localShardMap,
  loadBalancingAlgorithms,
  localTopology,
  mysqlUrl,
  parseLoadBalancing,
  cartRedisUrl,
  redisUrl,
  replicaPorts,
  serviceNames,
} from './local.js';
export type {
  LoadBalancing,
  LoadBalancingAlgorithm,
  LocalClusterNetwork,
  LocalTopology,
  MysqlInstance,
  ServiceName,
  ServiceTopology,
} from './local.js';
