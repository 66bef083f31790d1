export { ConfigError, envBool, envInt, envList, envPort, loadConfig } from './config.js';
export type { DeepReadonly } from './config.js';
export {
  AppError,
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from './errors.js';
export type { AppErrorOptions, FieldIssue } from './errors.js';
export { systemClock } from './runtime.js';
export type { Clock, LogFn, Logger } from './runtime.js';
export {
  annotate,
  contextOf,
  currentTraceId,
  currentTraceparent,
  inSpan,
  onShard,
  placementAttributes,
  shardAttributes,
  SpanKind,
  SpanStatusCode,
  startSpan,
  traceparentHeader,
  traceparentOf,
} from './tracing.js';
export type { Attributes, Context, ShardPlacement, Span, SpanOptions } from './tracing.js';
export { asksForHelp, commandHelp, commandLine, positiveArg, readCommandLine } from './cli.js';
export type { CliOption, CommandLine, CommandSpec } from './cli.js';
