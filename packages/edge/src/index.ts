export {
  defaultCheckoutQueue,
  edgeCacheZone,
  nginxConfig,
  principalHeader,
  purgePath,
  tokenVariables,
} from './nginx-config.js';
export type { EdgeOptions, EdgeUpstream } from './nginx-config.js';
export { localEdgeOptions } from './local.js';
export {
  edgeDirs,
  localNginx,
  nginxRequirements,
  nginxUser,
  purgeModulePath,
  startLocalEdge,
  startNginx,
  writeNginxConfig,
} from './nginx.js';
export type { RunningNginx } from './nginx.js';
export { startOwnEdge } from './own-edge.js';
export type { EdgeLogEntry, OwnEdge } from './own-edge.js';
