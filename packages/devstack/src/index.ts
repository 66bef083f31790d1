export { ensureSystemPackages } from './apt.js';
export type { SystemRequirement } from './apt.js';
export {
  checkedAgainst,
  clusterDown,
  clusterOperators,
  clusterUp,
  clusterUpPlan,
  kindCluster,
  pinnedVitessManifest,
  vitessOperator,
  vitessOperatorManifest,
} from './cluster.js';
export type { ClusterOperator, Step } from './cluster.js';
export {
  ensureCrds,
  ensureStrimziCrds,
  goModuleFile,
  operatorCrds,
  strimziVersion,
  vitessOperatorSource,
} from './crds.js';
export type { Dependency, DependencyStatus } from './dependency.js';
export { ensureKafkaJars, kafkaDependency, kafkaVersion, prepareKafkaNode } from './kafka.js';
export type { KafkaNode } from './kafka.js';
export { createTopicsAndWait } from './kafka-topics.js';
export {
  apiServerAnswers,
  applyServerSide,
  controlPlaneCredentials,
  ensureGoTool,
  ensureHelm,
  ensureKubeBinaries,
  etcdArgs,
  kubeApiserverArgs,
  ensureKwok,
  helmVersion,
  kubeVersion,
  kwokVersion,
} from './kube.js';
export type { KubeBinaries, Manifest } from './kube.js';
export { mariadbDependency } from './mariadb.js';
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
export { paths, repoRoot, stateDir } from './paths.js';
export {
  fillAtomically,
  freePorts,
  hasCommand,
  isListening,
  livePid,
  progress,
  run,
  runningPid,
  startDetached,
  stopProcess,
  untilSignal,
  until,
  type UntilOptions,
} from './processes.js';
export { redisArguments, redisDependency } from './redis.js';
export { startSmtpServer } from './smtp.js';
export type { ReceivedMail } from './smtp.js';
export {
  depsDown,
  depsStatus,
  depsUp,
  ensureTopics,
  localDependencies,
  migrateAll,
} from './stack.js';
export {
  localScrape,
  localTargets,
  prometheusConfig,
  prometheusRequirements,
  startLocalPrometheus,
  startPrometheus,
} from './prometheus.js';
export type { RunningPrometheus } from './prometheus.js';
export { localFaults, replicaCrash } from './faults.js';
export { mailboxOrderEmails, startMailbox } from './mailbox.js';
export type { DrillAction, Fault } from './faults.js';
