export {
  kafkaBrokers,
  localShardMap,
  localTopology,
  mysqlUrl,
  redisUrl,
  serviceNames,
} from './local.js';
export type { LocalTopology, MysqlInstance, ServiceName } from './local.js';
