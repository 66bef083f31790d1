import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import {
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ConfigError } from '@mela/core';
import { loadTracingConfig, RequestRootedSampler } from '../src/tracing.js';

describe('tracing configuration', () => {
  it('when no OTLP endpoint is set, then tracing is off', () => {
    assert.equal(loadTracingConfig({}).tracesUrl, undefined);
  });
  it('when a base endpoint is set, then traces go to its /v1/traces, every one by default', () => {
    assert.deepEqual(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }), {
      tracesUrl: 'http://127.0.0.1:4318/v1/traces',
      sampleRatio: 1,
    });
  });
  it('when the traces endpoint is set too, then it wins; OTEL_SDK_DISABLED turns tracing off', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    };
    assert.deepEqual(loadTracingConfig(env), {
      tracesUrl: 'http://collector:4318/custom',
      sampleRatio: 0.25,
    });
    assert.equal(loadTracingConfig({ ...env, OTEL_SDK_DISABLED: 'true' }).tracesUrl, undefined);
  });
  it('when the ratio or the endpoint is malformed, then the service refuses to start', () => {
    assert.throws(() => loadTracingConfig({ OTEL_TRACES_SAMPLER_ARG: '2' }), ConfigError);
    assert.throws(
      () => loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x:1' }),
      ConfigError,
    );
  });
});

describe('sampling: a trace begins with a request or a message', () => {
  const traceId = 'a'.repeat(32);
  const parent = (flags: TraceFlags) =>
    trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: 'b'.repeat(16),
      traceFlags: flags,
      isRemote: true,
    });
  const sampler = (ratio: number) =>
    new RequestRootedSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }));
  const decide = (ratio: number, context: typeof ROOT_CONTEXT, kind: SpanKind) =>
    sampler(ratio).shouldSample(context, traceId, 'span', kind, {}, []).decision;

  it('when a database or Redis call has no parent (a poll, a probe), then it is not recorded', () => {
    assert.equal(decide(1, ROOT_CONTEXT, SpanKind.CLIENT), SamplingDecision.NOT_RECORD);
  });
  it('when a request arrives without a trace, then the ratio decides', () => {
    assert.equal(decide(1, ROOT_CONTEXT, SpanKind.SERVER), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(decide(0, ROOT_CONTEXT, SpanKind.SERVER), SamplingDecision.NOT_RECORD);
  });
  it('when the caller traced (or did not), then its decision holds whatever the ratio', () => {
    const sampled = parent(TraceFlags.SAMPLED);
    assert.equal(decide(0, sampled, SpanKind.SERVER), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(decide(0, sampled, SpanKind.CLIENT), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(
      decide(1, parent(TraceFlags.NONE), SpanKind.CONSUMER),
      SamplingDecision.NOT_RECORD,
    );
  });
});
