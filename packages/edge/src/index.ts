export {
  defaultCheckoutQueue,
  edgeCacheZone,
  nginxConfig,
  principalHeader,
  purgePath,
} from './nginx-config.js';
export type { EdgeOptions, EdgeUpstream } from './nginx-config.js';
export { localEdgeOptions } from './local.js';
