export {
  kafkaBrokers,
  localClusterNetwork,
  localShardMap,
  loadBalancingAlgorithms,
  localTopology,
  mysqlUrl,
  parseLoadBalancing,
  cartRedisUrl,
  redisPort,
  redisRoleFlags,
  otlpEndpoint,
  redisUrl,
  replicaPorts,
  apiServices,
  serviceNames,
} from './local.js';
export type {
  LoadBalancing,
  LoadBalancingAlgorithm,
  LocalClusterNetwork,
  LocalTopology,
  MysqlInstance,
  RedisRole,
  ServiceName,
  ServiceTopology,
} from './local.js';
export {
  callersOf,
  needersOf,
  clientIdCookie,
  keepAlive,
  listenBacklog,
  needName,
  needVariables,
  optionalNeeds,
  serviceNeeds,
} from './wiring.js';
export type { Need } from './wiring.js';
