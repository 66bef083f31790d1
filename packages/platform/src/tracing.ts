/**
 * OpenTelemetry's SDK for a service: the exporter, the sampler and the instrumentations of
 * mysql2 and ioredis (each request's server span is the platform's own middleware,
 * request-tracing.ts). A service's `main.ts` calls {@link startTracing} before it
 * imports anything else (the instrumentations patch those modules as they load), so this module
 * imports none of them itself — it is its own entry (`@mela/platform/tracing`).
 */
export { loadTracingConfig, type TracingConfig } from './tracing-config.js';
import {
  context,
  propagation,
  trace,
  SpanKind,
  type Attributes,
  type Context,
  type Link,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SamplingResult,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { register as registerModuleHooks } from 'import-in-the-middle/register-hooks.mjs';
import { placementAttributes } from '@mela/core';
import { markTracingStarted } from './request-tracing.js';
import { loadTracingConfig } from './tracing-config.js';

export interface Tracing {
  /** Sends what is buffered and stops (the service's last step on shutdown). */
  shutdown(): Promise<void>;
}

/** The modules the instrumentations below patch (the ESM loader hook intercepts only these). */
const instrumented = ['mysql2', 'ioredis'] as const;

/**
 * A trace begins with a request or a message, never with a background query: a database or
 * Redis call without a parent (the outbox relay's polls, the sweeper, a health probe) is not
 * recorded, and neither is anything under it. Everything else is sampled by `inner`.
 */
export class RequestRootedSampler implements Sampler {
  readonly #inner: Sampler;

  constructor(inner: Sampler) {
    this.#inner = inner;
  }

  shouldSample(
    parent: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (kind === SpanKind.CLIENT && trace.getSpanContext(parent) === undefined)
      return { decision: SamplingDecision.NOT_RECORD };
    return this.#inner.shouldSample(parent, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `RequestRooted{${this.#inner.toString()}}`;
  }
}

/** Adds the keyspace, shard and vindex `onShard` put in the context to each span started there. */
class ShardPlacementProcessor implements SpanProcessor {
  onStart(span: Span, parent: Context): void {
    const attributes = placementAttributes(parent);
    if (attributes) span.setAttributes(attributes);
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Starts tracing for `service` when an OTLP endpoint is configured: registers the ESM hook the
 * instrumentations need (for the modules they patch only), the W3C propagator, the context
 * manager and the provider. Call it before importing the service's code.
 */
export function startTracing(service: string, env = process.env): Tracing {
  const config = loadTracingConfig(env);
  if (config.tracesUrl === undefined) return { shutdown: () => Promise.resolve() };

  // In-thread (module.registerHooks), and only for the modules the instrumentations patch.
  registerModuleHooks({ include: [...instrumented] });

  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'service.namespace': 'mela',
    }),
    sampler: new RequestRootedSampler(
      new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    ),
    spanProcessors: [
      new ShardPlacementProcessor(),
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.tracesUrl }) }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  markTracingStarted();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Requests get their server span from the platform's middleware (request-tracing.ts).
      new MySQL2Instrumentation(),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  return { shutdown: () => provider.shutdown() };
}
