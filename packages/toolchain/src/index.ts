export { ensureSystemPackages } from './apt.js';
export type { SystemRequirement } from './apt.js';
export {
  ensureCrds,
  ensureStrimziCrds,
  goModuleFile,
  operatorCrds,
  strimziVersion,
  vitessOperatorSource,
} from './crds.js';
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
export { paths, repoRoot, stateDir } from './paths.js';
export { ensureSchemathesis, schemathesisVersion } from './python.js';
export {
  acceptBacklog,
  assertPortsFree,
  copyMavenDependencies,
  fillAtomically,
  freePort,
  freePorts,
  hasCommand,
  heldBacklog,
  isListening,
  livePid,
  onLoopback,
  progress,
  run,
  runningPid,
  spawnLogged,
  startDetached,
  stopProcess,
  untilSignal,
  until,
  type UntilOptions,
  type WantedPort,
} from './processes.js';
export { ensureJaeger, jaegerVersion } from './jaeger.js';
export { httpRequest } from './http.js';
export type { HttpAnswer } from './http.js';
export { stopChild } from './child.js';
export {
  cpuPerUnit,
  jitGroup,
  machineCpu,
  machineGroup,
  otherProcesses,
  pidsOf,
  type MachineCpu,
  type ProcessGroups,
} from './machine-cpu.js';
