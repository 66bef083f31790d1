export { kafkaBrokers, localShardMap, localTopology, mysqlUrl, redisUrl } from './local.js';
export type { LocalTopology, MysqlInstance } from './local.js';
