export { ensureSystemPackages } from './apt.js';
export type { SystemRequirement } from './apt.js';
export type { Dependency, DependencyStatus } from './dependency.js';
export { ensureKafkaJars, kafkaDependency, kafkaVersion } from './kafka.js';
export { mariadbDependency } from './mariadb.js';
export { paths, repoRoot, stateDir } from './paths.js';
export { redisDependency } from './redis.js';
export {
  depsDown,
  depsStatus,
  depsUp,
  ensureTopics,
  localDependencies,
  migrateAll,
} from './stack.js';
