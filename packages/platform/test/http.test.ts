import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import {
  AppError,
  ConflictError,
  currentRequestId,
  parseInput,
  problemMediaType,
  propagationHeaders,
  sendJson,
  inOneLayer,
} from '../src/index.js';
import { memoryLog, sample, startApp, type RunningApp } from './support.js';

describe('the HTTP app every service runs', () => {
  const shelves = [
    { phone: 'A55', units: 3 },
    { phone: 'A56', units: 3 },
    { phone: 'फ़ोन ₹4,999', units: 1 },
  ];
  let running: RunningApp;
  const log = memoryLog();

  before(async () => {
    running = await startApp(
      (app) => {
        app.get('/items/:id', (req, res) => {
          res.json({ id: req.params['id'] });
        });
        app.post('/items', (req, res) => {
          const body = parseInput(z.object({ name: z.string().min(1).max(50) }), req.body, 'body');
          res.status(201).json(body);
        });
        app.post('/conflict', () => {
          throw new ConflictError('sold_out', 'Nothing left.', { productId: 'p1' });
        });
        app.get('/boom', () => {
          throw new Error('database password is hunter2');
        });
        app.get('/shelf/:which', (req, res) => {
          sendJson(req, res, shelves[['a', 'b', 'c'].indexOf(req.params['which'])] ?? {});
        });
        app.get('/teapot', () => {
          throw new AppError('teapot', 418, 'I am a teapot', { headers: { 'Retry-After': '7' } });
        });
      },
      { LOG_LEVEL: 'info', HTTP_BODY_LIMIT_BYTES: '1024' },
      log.stream,
    );
  });
  after(() => running.service.stop());

  it('when the body is malformed JSON, then it is a 400 problem, not a 500', async () => {
    const res = await fetch(`${running.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    });

    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), `${problemMediaType}; charset=utf-8`);
    const problem = (await res.json()) as Record<string, unknown>;
    assert.equal(problem['code'], 'malformed_json');
    assert.equal(problem['status'], 400);
    assert.equal(problem['type'], '/problems/malformed_json');
    assert.equal(problem['instance'], '/items');
  });

  it('when the body is over the limit, then it is a 413 problem', async () => {
    const res = await fetch(`${running.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(5000) }),
    });

    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { code: string }).code, 'payload_too_large');
  });

  it('when the body fails validation, then the 400 names each bad field', async () => {
    const res = await fetch(`${running.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });

    assert.equal(res.status, 400);
    const problem = (await res.json()) as { code: string; errors: { path: string }[] };
    assert.equal(problem.code, 'validation_failed');
    assert.deepEqual(
      problem.errors.map((e) => e.path),
      ['body.name'],
    );
  });

  it('when the route is unknown, then it is a 404 problem', async () => {
    const res = await fetch(`${running.url}/nowhere/42?x=1`);

    assert.equal(res.status, 404);
    const problem = (await res.json()) as Record<string, unknown>;
    assert.equal(problem['code'], 'route_not_found');
    assert.equal(problem['instance'], '/nowhere/42');
  });

  it('when a route throws an AppError, then its status, code, extensions and headers are kept', async () => {
    const conflict = await fetch(`${running.url}/conflict`, { method: 'POST' });
    assert.equal(conflict.status, 409);
    assert.deepEqual(
      { ...((await conflict.json()) as Record<string, unknown>), requestId: undefined },
      {
        type: '/problems/sold_out',
        title: 'Conflict',
        status: 409,
        detail: 'Nothing left.',
        instance: '/conflict',
        code: 'sold_out',
        productId: 'p1',
        requestId: undefined,
      },
    );

    const teapot = await fetch(`${running.url}/teapot`);
    assert.equal(teapot.status, 418);
    assert.equal(teapot.headers.get('retry-after'), '7');
  });

  it('when a route fails unexpectedly, then the client gets a 500 without internals and the log has the error', async () => {
    const res = await fetch(`${running.url}/boom`, { headers: { 'x-request-id': 'req-boom-1' } });

    assert.equal(res.status, 500);
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|at .*\.js/);
    assert.equal((JSON.parse(text) as { requestId: string }).requestId, 'req-boom-1');
    const failure = log.lines().find((line) => line['msg'] === 'request failed');
    assert.ok(failure, 'the failure is logged');
    assert.equal(failure['requestId'], 'req-boom-1');
    assert.equal(
      (failure['req'] as { id: string } | undefined)?.id ?? failure['reqId'],
      'req-boom-1',
    );
  });

  it('when a request carries x-request-id, then it is echoed and logged; otherwise one is made', async () => {
    const given = await fetch(`${running.url}/items/7`, {
      headers: { 'x-request-id': 'edge-abc.123' },
    });
    assert.equal(given.headers.get('x-request-id'), 'edge-abc.123');

    const made = await fetch(`${running.url}/items/7`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

    const completion = log
      .lines()
      .find((line) => (line['req'] as { id?: string } | undefined)?.id === 'edge-abc.123');
    assert.ok(completion, 'the completion line carries the request id');
    assert.equal(completion['service'], 'test');
  });

  it('when one object is answered again and again, then its bytes and ETag are the same, and a matching If-None-Match gets 304', async () => {
    const first = await fetch(`${running.url}/shelf/a`);
    const again = await fetch(`${running.url}/shelf/a`);
    const other = await fetch(`${running.url}/shelf/b`);
    const etag = first.headers.get('etag') ?? '';

    assert.deepEqual(await first.json(), { phone: 'A55', units: 3 });
    assert.equal(await again.text(), JSON.stringify(shelves[0]));
    assert.equal(first.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.match(etag, /^"[0-9a-f]+-[\w-]{27}"$/);
    assert.equal(again.headers.get('etag'), etag);
    assert.notEqual(other.headers.get('etag'), etag);
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request.
    const revalidated = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      get(`${running.url}/shelf/a`, { headers: { 'if-none-match': etag } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject);
    });
    assert.deepEqual(revalidated, { status: 304, body: '' });
    const head = await fetch(`${running.url}/shelf/b`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(JSON.stringify(shelves[1]).length));
  });

  it('when an answer holds characters beyond ASCII, then its Content-Length counts UTF-8 bytes and the text arrives whole', async () => {
    const res = await fetch(`${running.url}/shelf/c`);
    const bytes = Buffer.from(await res.arrayBuffer());

    assert.equal(
      res.headers.get('content-length'),
      String(Buffer.byteLength(JSON.stringify(shelves[2]))),
    );
    assert.equal(bytes.length, Buffer.byteLength(JSON.stringify(shelves[2])));
    assert.deepEqual(JSON.parse(bytes.toString('utf8')), shelves[2]);
  });

  it('then responses carry an API’s security headers (OWASP’s REST set), no page headers and no x-powered-by', async () => {
    const res = await fetch(`${running.url}/items/1`);

    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(res.headers.get('strict-transport-security'));
    assert.equal(
      res.headers.get('content-security-policy'),
      "default-src 'none';frame-ancestors 'none'",
    );
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    for (const pageOnly of ['x-xss-protection', 'origin-agent-cluster', 'x-download-options'])
      assert.equal(res.headers.get(pageOnly), null, pageOnly);
    assert.equal(res.headers.get('x-powered-by'), null);
  });

  it('then the RED histogram is labelled by route pattern, never by URL, and errors are counted by code', async () => {
    await fetch(`${running.url}/items/abc`);
    await fetch(`${running.url}/items/def`);
    await fetch(`${running.url}/random/${Date.now()}`);

    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    const count = (labels: Record<string, string>) =>
      sample(metrics, 'http_request_duration_seconds_count', labels);
    assert.ok(
      (count({ service: 'test', method: 'GET', route: '/items/:id', status_code: '200' }) ?? 0) >=
        2,
    );
    assert.equal(count({ route: '/items/abc' }), undefined);
    assert.doesNotMatch(metrics, /route="\/random/);
    assert.ok((count({ route: '(unmatched)', status_code: '404' }) ?? 0) >= 1);
    assert.ok((sample(metrics, 'http_errors_total', { code: 'route_not_found' }) ?? 0) >= 1);
    assert.match(metrics, /process_cpu_seconds_total/);
  });

  it('when a path is spelled another way (case, trailing slash, doubled slash), then nothing is served', async () => {
    const spellings = [
      '/METRICS',
      '/Metrics',
      '/metrics/',
      '/Livez',
      '/livez/',
      '/READYZ',
      '/readyz/',
    ];
    for (const spelling of [...spellings, '//metrics', '/ITEMS/7', '/items/7/']) {
      const res = await fetch(`${running.url}${spelling}`);

      assert.equal(res.status, 404, spelling);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(((await res.json()) as { code: string }).code, 'route_not_found');
    }
  });

  it('then /livez answers and /readyz reports ready with no checks registered', async () => {
    const live = await fetch(`${running.url}/livez`);
    assert.equal(live.status, 200);

    const ready = await fetch(`${running.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: {} });
  });
});

describe('request ids across services', () => {
  it('when a service calls another while serving a request, then the same x-request-id travels along', async () => {
    const seen: (string | undefined)[] = [];
    const downstream = await startApp((app) => {
      app.get('/inner', (req, res) => {
        seen.push(req.headers['x-request-id'] as string | undefined);
        res.json({ ok: true });
      });
    });
    const upstream = await startApp((app) => {
      app.get('/outer', async (_req, res) => {
        const inner = await fetch(`${downstream.url}/inner`, { headers: propagationHeaders() });
        res.json({ inner: inner.status, requestId: currentRequestId() });
      });
    });
    try {
      const res = await fetch(`${upstream.url}/outer`, { headers: { 'x-request-id': 'trace-42' } });

      assert.deepEqual(await res.json(), { inner: 200, requestId: 'trace-42' });
      assert.deepEqual(seen, ['trace-42']);
      assert.deepEqual(propagationHeaders(), {}, 'outside a request there is nothing to propagate');
    } finally {
      await upstream.service.stop();
      await downstream.service.stop();
    }
  });
});

describe('middleware run as one layer', () => {
  const run = (handlers: Parameters<typeof inOneLayer>[0]) =>
    new Promise<unknown>((resolve) => {
      inOneLayer(handlers)({} as never, {} as never, resolve);
    });

  it('when every handler calls next, then they run in order and the layer’s next follows', async () => {
    const seen: number[] = [];
    const step = (n: number) => (_req: unknown, _res: unknown, next: () => void) => {
      seen.push(n);
      next();
    };

    assert.equal(await run([step(1), step(2), step(3)]), undefined);
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('when a handler fails, by next(error) or a rejected promise, then the rest are skipped and the error goes on', async () => {
    const failure = new Error('no');
    let reached = false;
    const later = () => {
      reached = true;
    };
    assert.equal(await run([(_req, _res, next) => next(failure), later]), failure);
    assert.equal(
      await run([
        async () => {
          await Promise.resolve();
          throw failure;
        },
        later,
      ]),
      failure,
    );
    assert.equal(reached, false);
  });
});
