import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { ApiRouter, createDevTokenIssuer, operation } from '../src/index.js';
import { startApp, testSecret, type RunningApp } from './support.js';

const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret: testSecret });

const thing = z.object({ id: z.string(), size: z.int() }).meta({ id: 'Thing' });
const ops = {
  get: operation({
    method: 'get',
    path: '/api/things/:id',
    operationId: 'getThing',
    summary: 'One thing',
    tag: 'things',
    params: z.object({ id: z.string().regex(/^\d+$/) }),
    query: z.strictObject({ size: z.string().regex(/^\d$/).transform(Number).optional() }),
    responses: { 200: { description: 'The thing.', body: thing } },
    problems: [404],
  }),
  put: operation({
    method: 'put',
    path: '/api/things/:id',
    operationId: 'putThing',
    summary: 'Sets a thing (admin)',
    tag: 'things',
    auth: 'admin',
    params: z.object({ id: z.string().regex(/^\d+$/) }),
    body: z.strictObject({ size: z.int().min(0) }),
    responses: { 200: { description: 'The thing.', body: thing } },
  }),
  list: operation({
    method: 'get',
    path: '/api/things',
    operationId: 'listThings',
    summary: 'Every thing',
    tag: 'things',
    auth: 'user',
    responses: { 200: { description: 'The things.', body: z.array(thing) } },
  }),
};

interface Document {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Described>>;
  readonly components: { readonly securitySchemes: Record<string, unknown> };
}
interface Described {
  readonly security?: unknown;
  readonly parameters?: { readonly name: string; readonly in: string }[];
  readonly requestBody?: { readonly required: boolean };
  readonly responses: Record<string, { readonly content?: Record<string, unknown> }>;
}

describe('operations: one value serves a route and documents it', () => {
  let running: RunningApp;
  let document: Document;
  const auth = async (roles: string[]) => ({
    authorization: `Bearer ${await issuer.issue({ userId: 'alice', roles })}`,
  });

  before(async () => {
    running = await startApp((_app, platform, mount) => {
      mount(
        new ApiRouter(platform.tokens)
          .handle(ops.get, ({ params, query }, _req, res) => {
            res.json({ id: params.id, size: query.size ?? 1 });
          })
          .handle(ops.put, ({ params, body }, _req, res) => {
            res.json({ id: params.id, size: body.size });
          })
          .handle(ops.list, (_input, _req, res) => {
            res.json([]);
          }),
      );
    });
    document = (await (await fetch(`${running.url}/openapi.json`)).json()) as Document;
  });
  after(() => running.service.stop());

  it('when the document is asked for, then it is OpenAPI 3.1 with every operation, the platform’s included, in OpenAPI’s path syntax', () => {
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(Object.keys(document.paths['/api/things/{id}'] ?? {}).sort(), ['get', 'put']);
    for (const path of ['/api/things', '/api/auth/me', '/livez', '/readyz', '/metrics'])
      assert.ok(document.paths[path], path);
    assert.ok(document.components.securitySchemes['bearer']);
  });

  it('when an operation takes input, then its parameters and body are the schemas the route parses with, and a bad one is a 400 problem', async () => {
    const get = document.paths['/api/things/{id}']?.['get'];
    assert.deepEqual(
      get?.parameters?.map((p) => `${p.in}:${p.name}`),
      ['path:id', 'query:size'],
    );
    assert.match(JSON.stringify(get.responses['400']), /application\/problem\+json/);
    assert.ok(get.responses['404']);
    assert.equal(get.security, undefined);

    const good = await fetch(`${running.url}/api/things/7?size=3`);
    assert.deepEqual(await good.json(), { id: '7', size: 3 });
    const bad = await fetch(`${running.url}/api/things/seven?size=33`);
    assert.equal(bad.status, 400);
    const problem = (await bad.json()) as { errors: { path: string }[] };
    assert.deepEqual(problem.errors.map((e) => e.path).sort(), ['params.id', 'query.size']);
  });

  it('when an operation needs a user or an admin, then it is documented with the bearer scheme, 401 and 403, and enforced', async () => {
    const put = document.paths['/api/things/{id}']?.['put'];
    assert.deepEqual(put?.security, [{ bearer: [] }]);
    assert.deepEqual(Object.keys(put.responses).sort(), [
      '200',
      '400',
      '401',
      '403',
      '413',
      '415',
      '429',
    ]);
    assert.equal(put.requestBody?.required, true);

    const put5 = (headers: Record<string, string>) =>
      fetch(`${running.url}/api/things/7`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ size: 5 }),
      });
    assert.equal((await put5({})).status, 401);
    assert.equal((await put5(await auth(['user']))).status, 403);
    const done = await put5(await auth(['user', 'admin']));
    assert.equal(done.status, 200);
    assert.equal(done.headers.get('cache-control'), 'private, no-store');
  });

  it('when a path is asked with a method none of its operations has, then 405 problem+json names the ones it has', async () => {
    const answer = await fetch(`${running.url}/api/things/7`, { method: 'DELETE' });
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.get('allow'), 'GET, HEAD, PUT');
    assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await answer.json()) as { code: string }).code, 'method_not_allowed');
    // A path no operation has is still not found.
    assert.equal((await fetch(`${running.url}/api/nothing`, { method: 'DELETE' })).status, 404);
  });
});
