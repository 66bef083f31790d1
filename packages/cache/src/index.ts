export { CacheAside, cacheRedisOptions } from './cache-aside.js';
export type { CacheAsideOptions, CachePolicy, CacheResult } from './cache-aside.js';
export type { NearCacheOptions } from './near-cache.js';
