export {
  assertOwner,
  createDevTokenIssuer,
  createTokenVerifier,
  devTokenRouter,
  whoAmIRouter,
  principalKey,
  principalKeyHeader,
  principalOf,
  requireRole,
  requireUser,
} from './auth.js';
export type { AuthOptions, Principal, TokenIssuer, TokenVerifier } from './auth.js';
export {
  ConfigError,
  checkPlatformEnv,
  envBool,
  envInt,
  envList,
  envPort,
  loadConfig,
  platformConfigFrom,
  platformConfigSchema,
  platformEnv,
} from './config.js';
export type { DeepReadonly, PlatformConfig, PlatformEnv } from './config.js';
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
export { Health } from './health.js';
export type { CheckOptions, CheckResult, Probe, ReadinessReport } from './health.js';
export {
  createHttpApp,
  domainProblems,
  createRouter,
  problemHandler,
  problemMediaType,
  toAppError,
} from './http.js';
export type { HttpAppOptions } from './http.js';
export { HttpService, stopOnSignals } from './lifecycle.js';
export type { Closer, HttpServiceOptions, StopResult, Worker } from './lifecycle.js';
export { createLogger, requestIdFor, requestIdHeader, requestLogging } from './logging.js';
export type { Logger, LoggerOptions } from './logging.js';
export { createHttpMetrics, measureRequests, routePattern, unmatchedRoute } from './metrics.js';
export type { HttpMetrics, HttpMetricsOptions } from './metrics.js';
export {
  createHttpService,
  createPlatform,
  createServiceApp,
  serviceRateLimit,
} from './platform.js';
export type { Platform } from './platform.js';
export { clientIdCookie, createClientIds } from './client-id.js';
export type { ClientIds } from './client-id.js';
export { defaultRateLimitRules, rateLimiter } from './rate-limit.js';
export type { RateLimiterOptions, RateLimitRule } from './rate-limit.js';
export { currentRequestId, propagationHeaders, requestContext } from './request-context.js';
export { parseInput } from './validation.js';
