/**
 * Spans, as the code that does the work marks them. Only the OpenTelemetry API: every call is
 * a no-op until a service's entry point starts the SDK (`@mela/platform/tracing`), so a test or
 * a tool that never does pays nothing.
 */
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

export { SpanKind, SpanStatusCode, type Attributes, type Context, type Span };

/** The header (HTTP, Kafka) and outbox column a trace travels in: W3C Trace Context. */
export const traceparentHeader = 'traceparent';

const tracer = () => trace.getTracer('mela');

/** How a span starts: its kind, its attributes, and its parent when not the active span's. */
export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** The span's parent instead of the active span (a message's trace, say). */
  readonly parent?: Context;
}

/** Starts a span that the caller ends (for work that ends in a callback or in a batch). */
export function startSpan(name: string, options: SpanOptions): Span {
  return tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    options.parent ?? context.active(),
  );
}

/**
 * Runs `work` in a new span (a child of the active one, or of `parent`), which records a
 * thrown error and ends when `work` settles.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = startSpan(name, options);
  return context.with(trace.setSpan(options.parent ?? context.active(), span), async () => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the active span (a cache outcome, a limiter's decision); none, no cost. */
export function annotate(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * The active trace as a `traceparent` value (to store or send on), if a span is active —
 * sampled or not: the decision travels with it.
 */
export function currentTraceparent(): string | undefined {
  return traceparentIn(context.active());
}

/** `span`'s place in its trace as a `traceparent` value (what its children continue). */
export function traceparentOf(span: Span): string | undefined {
  return traceparentIn(trace.setSpan(context.active(), span));
}

function traceparentIn(from: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  return carrier[traceparentHeader];
}

/** The trace id of the active span (for log lines), if one is recording. */
export function currentTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext().traceId : undefined;
}

/**
 * The context a stored or received `traceparent` continues (the root context when there is
 * none or it is malformed: the propagator ignores what it cannot parse).
 */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { [traceparentHeader]: traceparent });
}

/** Where a statement runs: what the SDK's span processor adds to the spans started under it. */
export interface ShardPlacement {
  readonly keyspace: string;
  readonly shard: string;
  /** The table's primary vindex, when the route named a table. */
  readonly vindex?: string;
}

const placementKey = createContextKey('mela.shard-placement');

/**
 * Runs `work` with the placement in its context, so the database client's spans started inside
 * carry `mela.keyspace`, `mela.shard` and `mela.vindex` (no span of its own). `placement` is
 * asked only inside a recorded trace: outside one, nothing would read it.
 */
export function onShard<T>(placement: () => ShardPlacement, work: () => T): T {
  if (trace.getActiveSpan()?.isRecording() !== true) return work();
  return context.with(context.active().setValue(placementKey, placement()), work);
}

/** The placement `onShard` put in `parent`, as span attributes. */
export function placementAttributes(parent: Context): Attributes | undefined {
  const placement = parent.getValue(placementKey) as ShardPlacement | undefined;
  return placement && shardAttributes(placement);
}

/** A placement as span attributes: `mela.keyspace`, `mela.shard`, `mela.vindex`. */
export function shardAttributes(placement: ShardPlacement): Attributes {
  return {
    'mela.keyspace': placement.keyspace,
    'mela.shard': placement.shard,
    ...(placement.vindex === undefined ? {} : { 'mela.vindex': placement.vindex }),
  };
}
