import { z } from 'zod';
import { envBool, loadConfig } from '@mela/core';

/**
 * Tracing's settings, under OpenTelemetry's own variable names. No endpoint: tracing is off
 * (nothing is patched, every span call is a no-op).
 */
export const tracingEnv = {
  /** The collector's OTLP/HTTP base URL (traces go to `<it>/v1/traces`), e.g. `http://127.0.0.1:4318`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The traces URL itself, when it is not `<base>/v1/traces`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * The share of new traces kept (0–1). A request that arrives with a trace follows its
   * caller's decision (parent-based), so a trace is kept whole or not at all.
   */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  OTEL_SDK_DISABLED: envBool().default(false),
};

export interface TracingConfig {
  /** Where spans are sent (OTLP over HTTP, protobuf); undefined: tracing is off. */
  readonly tracesUrl: string | undefined;
  readonly sampleRatio: number;
}

export function loadTracingConfig(env: NodeJS.ProcessEnv): TracingConfig {
  const e = loadConfig(z.object(tracingEnv), env);
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base && `${base}/v1/traces`);
  return {
    tracesUrl: e.OTEL_SDK_DISABLED ? undefined : tracesUrl,
    sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
  };
}
