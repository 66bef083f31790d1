export { blackHole, deadPort } from './network.js';
export { startOwnRedis } from './redis.js';
export type { OwnRedis } from './redis.js';
