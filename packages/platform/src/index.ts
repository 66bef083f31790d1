// The platform stands on @mela/core; a service gets both from here.
export { ApiRouter, openApiDocument, operation, problemSchema } from './api.js';
export type { ApiHandler, ApiInput, ApiResponse, Method, Operation, ProblemStatus } from './api.js';
export {
  AppError,
  ConfigError,
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
  envBool,
  envInt,
  envList,
  envPort,
  loadConfig,
  systemClock,
} from '@mela/core';
export type { AppErrorOptions, Clock, DeepReadonly, FieldIssue, LogFn, Logger } from '@mela/core';
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
  requireUserPrivately,
  userIdOf,
} from './auth.js';
export type { AuthOptions, Principal, TokenIssuer, TokenVerifier } from './auth.js';
export {
  checkPlatformEnv,
  platformConfigFrom,
  platformConfigSchema,
  platformEnv,
} from './config.js';
export type { PlatformConfig, PlatformEnv } from './config.js';
export { Health } from './health.js';
export type { CheckOptions, CheckResult, Probe, ReadinessReport } from './health.js';
export {
  apiVersion,
  createHttpApp,
  domainProblems,
  createRouter,
  problemHandler,
  problemMediaType,
  inOneLayer,
  securityHeaders,
  sendJson,
  toAppError,
} from './http.js';
export type { HttpAppOptions } from './http.js';
export { HttpService, runService, stopOnSignals } from './lifecycle.js';
export type { Closer, HttpServiceOptions, StopResult, Worker } from './lifecycle.js';
export { createLogger, requestIdFor, requestIdHeader, requestLogging } from './logging.js';
export type { LoggerOptions, PinoLogger } from './logging.js';
export { createHttpMetrics, measureRequests, routePattern, unmatchedRoute } from './metrics.js';
export type { HttpMetrics, HttpMetricsOptions } from './metrics.js';
export {
  createHttpService,
  createPlatform,
  createServiceApp,
  serviceRateLimit,
} from './platform.js';
export type { Platform } from './platform.js';
export { createClientIds } from './client-id.js';
export { clientIdCookie } from '@mela/topology';
export type { ClientIds } from './client-id.js';
export { defaultRateLimitRules, rateLimiter } from './rate-limit.js';
export type { RateLimiterOptions, RateLimitRule } from './rate-limit.js';
export { currentRequestId, propagationHeaders, requestContext } from './request-context.js';
export { parseInput } from './validation.js';
