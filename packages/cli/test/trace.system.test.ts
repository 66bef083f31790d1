import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startJaeger, startSmtpServer, type RunningJaeger } from '@mela/devstack';
import { createDevTokenIssuer } from '@mela/platform';
import { httpRequest, startShopBehindEdge, until, type ShopBehindEdge } from '@mela/testkit';

/** A span as Jaeger's HTTP API returns it. */
interface JaegerSpan {
  readonly spanID: string;
  readonly operationName: string;
  readonly processID: string;
  readonly references: readonly { readonly refType: string; readonly spanID: string }[];
  readonly tags: readonly { readonly key: string; readonly value: unknown }[];
}
interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, { readonly serviceName: string }>>;
}

/** One trace's spans, with their parents, services and attributes at hand. */
class Trace {
  readonly #trace: JaegerTrace;
  constructor(trace: JaegerTrace) {
    this.#trace = trace;
  }
  get spans(): readonly JaegerSpan[] {
    return this.#trace.spans;
  }
  serviceOf(span: JaegerSpan): string | undefined {
    return this.#trace.processes[span.processID]?.serviceName;
  }
  tag(span: JaegerSpan, key: string): unknown {
    return span.tags.find((t) => t.key === key)?.value;
  }
  parentOf(span: JaegerSpan): JaegerSpan | undefined {
    const ref = span.references.find((r) => r.refType === 'CHILD_OF');
    return this.#trace.spans.find((s) => s.spanID === ref?.spanID);
  }
  /** The one span named `name` (of `service`), under `ancestor` when given. */
  find(name: string | RegExp, options: { service?: string; under?: JaegerSpan } = {}): JaegerSpan {
    const found = this.#trace.spans.filter(
      (s) =>
        (typeof name === 'string' ? s.operationName === name : name.test(s.operationName)) &&
        (options.service === undefined || this.serviceOf(s) === options.service) &&
        (options.under === undefined || this.descends(s, options.under)),
    );
    assert.ok(
      found.length >= 1,
      `no span ${String(name)}${options.under ? ` under ${options.under.operationName}` : ''} in ${this.#trace.spans.map((s) => `${this.serviceOf(s) ?? '?'}:${s.operationName}`).join(', ')}`,
    );
    return found[0] as JaegerSpan;
  }
  descends(span: JaegerSpan, ancestor: JaegerSpan): boolean {
    for (let at = this.parentOf(span); at; at = this.parentOf(at))
      if (at.spanID === ancestor.spanID) return true;
    return false;
  }
}

/** The catalog's request span of a product read. */
function isProductRead(span: JaegerSpan): boolean {
  return span.operationName === 'GET /api/catalog/products/:id';
}

/**
 * One checkout through the edge, traced: the test sends a W3C `traceparent` (as an instrumented
 * browser would), and asks a real Jaeger for that trace: the edge forwarded it, and the order
 * service, Redis, the shards, the outbox, Kafka, the notification consumer and its SMTP send
 * all answered in it, each span under the one that caused it.
 */
describe('tracing: one checkout is one trace from the click to the email', () => {
  const secret = randomBytes(32).toString('hex');
  const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret });
  const dir = mkdtempSync(join(tmpdir(), 'mela-trace-'));
  let jaeger: RunningJaeger;
  let shop: ShopBehindEdge;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;

  before(async () => {
    jaeger = await startJaeger(join(dir, 'jaeger'));
    smtp = await startSmtpServer({ host: '127.0.0.1', port: 0, onMessage: () => undefined });
    shop = await startShopBehindEdge({
      products: [{ id: 1, name: 'Traced Phone', priceCents: 1_999_900, stock: 10 }],
      services: ['catalog', 'cart', 'order', 'notification'],
      replicas: 1,
      env: {
        AUTH_JWT_SECRET: secret,
        SMTP_URL: `smtp://127.0.0.1:${String(smtp.port)}`,
        PAYMENT_SANDBOX_LATENCY_MS: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
        // New traces sampled out: only a traced caller's requests are recorded (parent-based).
        OTEL_TRACES_SAMPLER_ARG: '0',
      },
    });
  });
  after(async () => {
    await shop.close();
    await smtp.close();
    await jaeger.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The traces the test began. */
  const traced: string[] = [];
  /** A `traceparent` of a new sampled trace, as the caller's own span. */
  function newTraceparent() {
    const traceId = randomBytes(16).toString('hex');
    traced.push(traceId);
    const spanId = randomBytes(8).toString('hex');
    return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
  }

  /** Asks Jaeger for the trace until it holds a span `complete` accepts. */
  async function traceOf(traceId: string, complete: (trace: Trace) => boolean): Promise<Trace> {
    let last: Trace | undefined;
    await until(
      async () => {
        const answer = await httpRequest(`${jaeger.url}/api/traces/${traceId}`);
        if (answer.status !== 200) return false;
        const [found] = (JSON.parse(answer.body) as { data: JaegerTrace[] }).data;
        last = found && new Trace(found);
        return last !== undefined && complete(last);
      },
      `trace ${traceId} in Jaeger`,
      30_000,
      { pollMs: 250 },
    ).catch((error: unknown) => {
      const seen = last?.spans.map((s) => `${last?.serviceOf(s) ?? '?'}:${s.operationName}`);
      throw new Error(`${String(error)}; it holds ${seen?.join(', ') ?? 'nothing'}`, {
        cause: error,
      });
    });
    assert.ok(last);
    return last;
  }

  it('follows the checkout from the edge through the shards and Kafka to the SMTP send', async () => {
    const token = await issuer.issue({
      userId: `traced-${randomBytes(4).toString('hex')}`,
      roles: ['user'],
    });
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const adding = newTraceparent();
    const added = await httpRequest(`${shop.url}/api/cart/items`, {
      method: 'POST',
      headers: { ...auth, traceparent: adding.header },
      body: JSON.stringify({ productId: '1', quantity: 1 }),
    });
    assert.equal(added.status, 201, added.body);
    // The cart checks the product with the catalog, over HTTP, in the same trace.
    const addTrace = await traceOf(adding.traceId, (t) =>
      t.spans.some((s) => s.operationName === 'GET /api/catalog/products/:id'),
    );
    const add = addTrace.find('POST /api/cart/items', { service: 'cart' });
    addTrace.find('GET /api/catalog/products/:id', { service: 'catalog', under: add });

    const caller = newTraceparent();
    const placed = await httpRequest(`${shop.url}/api/orders`, {
      method: 'POST',
      headers: {
        ...auth,
        'idempotency-key': `traced-${randomBytes(6).toString('hex')}`,
        traceparent: caller.header,
      },
      body: JSON.stringify({
        shippingAddress: {
          name: 'Tara',
          line1: '1 MG Road',
          city: 'Pune',
          postalCode: '411001',
          country: 'IN',
        },
        contact: { email: 'tara@example.com' },
        paymentMethod: 'card',
      }),
    });
    assert.equal(placed.status, 201, placed.body);
    const orderId = (JSON.parse(placed.body) as { id: string }).id;

    const trace = await traceOf(caller.traceId, (t) =>
      t.spans.some((s) => s.operationName === 'smtp send'),
    );

    // The edge forwarded the caller's trace: the order service's request span is its child.
    const request = trace.find('POST /api/orders', { service: 'order' });
    assert.equal(trace.tag(request, 'span.kind'), 'server');
    assert.deepEqual(
      request.references.map((r) => r.spanID),
      [caller.spanId],
    );
    assert.equal(trace.tag(request, 'http.response.status_code'), 201);
    assert.equal(trace.tag(request, 'mela.ratelimit.decision'), 'allowed');

    // The cart, read from its Redis.
    const cart = trace.find('cart read', { under: request });
    assert.equal(trace.tag(cart, 'mela.cart.lines'), 1);
    trace.find('hgetall', { under: cart });

    // The stock reserved on the commerce keyspace's shard, in a transaction of its own.
    const reserve = trace.find('transaction commerce/0', { under: request });
    assert.equal(trace.tag(reserve, 'mela.keyspace'), 'commerce');

    // The order with its outbox row on the buyer's customer shard, found by the xxhash vindex.
    const commit = trace.find(/^transaction customer\//, { under: request });
    assert.equal(trace.tag(commit, 'mela.keyspace'), 'customer');
    assert.equal(trace.tag(commit, 'mela.vindex'), 'xxhash');
    const shard = trace.tag(commit, 'mela.shard');
    assert.ok(shard === '-80' || shard === '80-', String(shard));
    const outboxInsert = trace.spans.find(
      (s) =>
        trace.descends(s, commit) &&
        /INSERT INTO outbox/.test(
          String(trace.tag(s, 'db.query.text') ?? trace.tag(s, 'db.statement')),
        ),
    );
    assert.ok(outboxInsert, 'the outbox row is written in the order’s transaction');
    assert.equal(trace.tag(outboxInsert, 'mela.shard'), shard);

    // Published by the relay in the checkout's trace (from the outbox row), consumed in it.
    const publish = trace.find(/ publish$/, { service: 'order', under: commit });
    assert.equal(trace.tag(publish, 'span.kind'), 'producer');
    assert.equal(trace.tag(publish, 'messaging.system'), 'kafka');
    const consume = trace.find(/ process$/, { service: 'notification' });
    assert.equal(trace.parentOf(consume)?.spanID, publish.spanID);
    assert.equal(trace.tag(consume, 'span.kind'), 'consumer');

    // The email, sent under the consumer's span; the delivery log's writes are on the shards.
    const send = trace.find('smtp send', { service: 'notification', under: consume });
    assert.equal(trace.tag(send, 'mela.order.id'), orderId);
    assert.equal(trace.tag(send, 'span.kind'), 'client');

    // The latency histogram's bucket that counted the checkout names its trace (an exemplar),
    // in the OpenMetrics text Prometheus asks for.
    const order = shop.replicas.order[0];
    assert.ok(order);
    const metrics = await httpRequest(`${order.url}/metrics`);
    assert.match(String(metrics.headers['content-type']), /^application\/openmetrics-text/);
    const exemplar = metrics.body
      .split('\n')
      .find(
        (line) =>
          line.startsWith('http_request_duration_seconds_bucket{') &&
          line.includes('route="/api/orders"') &&
          line.includes('method="POST"') &&
          line.includes(`# {trace_id="${caller.traceId}"}`),
      );
    assert.ok(exemplar, 'a bucket of POST /api/orders holds the checkout’s trace id');
  });

  it('records a traced catalog read with its cache outcome, and no trace nobody asked for', async () => {
    // Without a caller's trace a request starts a new one, sampled at OTEL_TRACES_SAMPLER_ARG:
    // none here (and neither was the cart's call to the catalog above).
    const untraced = await httpRequest(`${shop.url}/api/catalog/products?limit=2`);
    assert.equal(untraced.status, 200, untraced.body);

    const caller = newTraceparent();
    const read = await httpRequest(`${shop.url}/api/catalog/products/1`, {
      headers: { traceparent: caller.header },
    });
    assert.equal(read.status, 200, read.body);
    const trace = await traceOf(caller.traceId, (t) => t.spans.some((s) => isProductRead(s)));
    const request = trace.spans.find((s) => isProductRead(s));
    assert.ok(request);
    assert.equal(trace.serviceOf(request), 'catalog');
    // Said by the span the handler ran in (express's, under the request's).
    const outcome = trace.spans
      .filter((s) => s === request || trace.descends(s, request))
      .flatMap((s) => s.tags.filter((t) => t.key.startsWith('mela.cache.')));
    assert.match(String(outcome[0]?.value), /^(miss|hit|near|stale)$/);

    // The spans are exported in the order they end: the untraced request's would be there.
    const listed = await httpRequest(
      `${jaeger.url}/api/traces?service=catalog&limit=50&lookback=1h`,
    );
    assert.equal(listed.status, 200, listed.body);
    const ids = (JSON.parse(listed.body) as { data: JaegerTrace[] }).data.map((t) => t.traceID);
    // Only the traces the test began (the checkout's has the catalog's token check, asked by
    // the edge in the same trace).
    assert.ok(ids.includes(caller.traceId));
    assert.deepEqual(
      ids.filter((id) => !traced.includes(id)),
      [],
    );
  });
});
