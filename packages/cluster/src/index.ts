export { addonImages, addonVersions } from './addons.js';
export type { Manifest } from '@mela/toolchain';
export { nodeNetwork } from './host-network.js';
export type { NodeNetwork } from './host-network.js';
export {
  buildImage,
  ensureBaseImage,
  imageRequirements,
  imageSize,
  loadIntoContainerd,
  scratchImage,
} from './image.js';
export type { BuiltImage } from './image.js';
export {
  clusterDown,
  clusterPurge,
  clusterRequirements,
  clusterStatus,
  clusterUp,
  nodeName,
  runningCluster,
} from './node-cluster.js';
export type { LocalCluster } from './node-cluster.js';
export { defaultClusterEdgePort, startClusterEdge } from './edge.js';
export type { ClusterEdge } from './edge.js';
export {
  checkedAgainst,
  clusterOperators,
  clusterUpPlan,
  kindCluster,
  kindClusterDown,
  kindClusterUp,
  pinnedVitessManifest,
  vitessOperator,
  vitessOperatorManifest,
} from './kind.js';
export type { ClusterOperator, Step } from './kind.js';
