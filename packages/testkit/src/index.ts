export { blackHole, deadPort, deadPort as freePort } from './network.js';
export { stopChild } from './process.js';
export { startOwnRedis } from './redis.js';
export type { OwnRedis } from './redis.js';
export { until } from './wait.js';
