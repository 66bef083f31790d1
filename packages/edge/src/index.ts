export { defaultCheckoutQueue, edgeCacheZone, nginxConfig, purgePath } from './nginx-config.js';
export type { EdgeOptions, EdgeUpstream } from './nginx-config.js';
export { localEdgeOptions } from './local.js';
