import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import {
  assertOwner,
  createDevTokenIssuer,
  principalKey,
  principalOf,
  requireRole,
  requireUser,
} from '../src/index.js';
import { startApp, testSecret, type RunningApp } from './support.js';

const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret: testSecret });

/** A per-user resource: carts of alice and bob. */
const owners: Record<string, string> = { 'cart-a': 'alice', 'cart-b': 'bob' };

function routes(
  app: Parameters<Parameters<typeof startApp>[0]>[0],
  platform: Parameters<Parameters<typeof startApp>[0]>[1],
) {
  app.get('/me', requireUser(platform.tokens), (req, res) => {
    res.json(principalOf(req));
  });
  app.get('/carts/:id', requireUser(platform.tokens), (req, res) => {
    const id = String(req.params['id']);
    assertOwner(principalOf(req), owners[id] ?? '', 'cart');
    res.json({ id });
  });
  app.put('/admin/prices', requireUser(platform.tokens), requireRole('admin'), (_req, res) => {
    res.status(204).end();
  });
}

describe('bearer authentication', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp(routes);
  });
  after(() => running.service.stop());

  const get = (path: string, token?: string) =>
    fetch(`${running.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('when the token is valid, then sub is the user id and roles come from the roles claim', async () => {
    const token = await issuer.issue({ userId: 'alice', roles: ['user', 'admin'] });

    const res = await get('/me', token);

    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { userId: 'alice', roles: ['user', 'admin'] });
  });

  it('when there is no token, then 401 with WWW-Authenticate', async () => {
    const res = await get('/me');

    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    assert.equal(((await res.json()) as { code: string }).code, 'unauthorized');
  });

  it('when the token is expired, forged, for another audience or unsigned, then 401', async () => {
    const key = new TextEncoder().encode(testSecret);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('mela-dev')
      .setAudience('mela')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(key);
    const otherAudience = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('mela-dev')
      .setAudience('someone-else')
      .setExpirationTime('1h')
      .sign(key);
    const forged = await createDevTokenIssuer({
      issuer: 'mela-dev',
      audience: 'mela',
      secret: 'x'.repeat(40),
    }).issue({ userId: 'alice', roles: ['admin'] });
    const [header, payload] = (await issuer.issue({ userId: 'alice', roles: [] })).split('.');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload ?? ''}.`;

    const signed = (claims: Record<string, unknown>, alg = 'HS256') =>
      new SignJWT({ sub: 'alice', iss: 'mela-dev', aud: 'mela', ...claims })
        .setProtectedHeader({ alg })
        .sign(key);
    const hour = Math.floor(Date.now() / 1000) + 3600;
    const otherIssuer = await signed({ iss: 'someone-else', exp: hour });
    const noExpiry = await signed({});
    const notYet = await signed({ exp: hour + 3600, nbf: hour });
    const otherAlgorithm = await signed({ exp: hour }, 'HS512');

    for (const token of [
      expired,
      otherAudience,
      forged,
      unsigned,
      `${header ?? ''}.garbage.sig`,
      otherIssuer,
      noExpiry,
      notYet,
      otherAlgorithm,
    ]) {
      const res = await get('/me', token);
      assert.equal(res.status, 401, `token ${token.slice(0, 20)}… must be refused`);
    }
    const refused = (await (await get('/me', expired)).json()) as { detail: string };
    assert.equal(refused.detail, 'The token has expired.');
  });

  it('when a token expired within the clock tolerance (30 s), then it is still accepted', async () => {
    const key = new TextEncoder().encode(testSecret);
    const now = Math.floor(Date.now() / 1000);
    const token = (exp: number) =>
      new SignJWT({ sub: 'alice', iss: 'mela-dev', aud: 'mela', exp })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(key);

    assert.equal((await get('/me', await token(now - 10))).status, 200);
    assert.equal((await get('/me', await token(now - 90))).status, 401);
  });

  it("when a user asks for someone else's data, then it is 404 as if it did not exist", async () => {
    const alice = await issuer.issue({ userId: 'alice', roles: ['user'] });

    assert.equal((await get('/carts/cart-a', alice)).status, 200);
    const foreign = await get('/carts/cart-b', alice);
    assert.equal(foreign.status, 404);
    assert.equal((await get('/carts/cart-zzz', alice)).status, 404);
    assert.equal(((await foreign.json()) as { detail: string }).detail, 'No such cart.');
  });

  it('when a role is required and missing, then 403', async () => {
    const user = await issuer.issue({ userId: 'carol', roles: ['user'] });
    const admin = await issuer.issue({ userId: 'dave', roles: ['admin'] });

    assert.equal(
      (
        await fetch(`${running.url}/admin/prices`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${user}` },
        })
      ).status,
      403,
    );
    assert.equal(
      (
        await fetch(`${running.url}/admin/prices`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${admin}` },
        })
      ).status,
      204,
    );
  });

  it('when a client asks who it is, then /api/auth/me answers the principal, and with ?role= checks the role', async () => {
    const user = await issuer.issue({ userId: 'erin', roles: ['user'] });
    const admin = await issuer.issue({ userId: 'frank', roles: ['user', 'admin'] });

    const me = await get('/api/auth/me', user);
    assert.equal(me.status, 200);
    assert.equal(me.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await me.json(), { userId: 'erin', roles: ['user'] });
    // The edge's waiting room counts places by this opaque key: per user, not the user id.
    assert.equal(me.headers.get('mela-principal'), principalKey('erin'));
    assert.match(principalKey('erin'), /^[0-9a-f]{32}$/);
    assert.notEqual(principalKey('erin'), principalKey('ERIN'));
    assert.equal((await get('/api/auth/me?role=admin', user)).status, 403);
    assert.equal((await get('/api/auth/me?role=admin', admin)).status, 200);
    assert.equal((await get('/api/auth/me?role=admin')).status, 401);
    assert.equal((await get('/api/auth/me?role=root', admin)).status, 400);
  });

  it('when dev tokens are not enabled, then the dev-token endpoint does not exist', async () => {
    const res = await fetch(`${running.url}/api/auth/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'mallory', roles: ['admin'] }),
    });

    assert.equal(res.status, 404);
  });
});

describe('the dev-token endpoint, when explicitly enabled', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp(routes, { AUTH_DEV_TOKENS: 'true' });
  });
  after(() => running.service.stop());

  const devToken = (body: unknown) =>
    fetch(`${running.url}/api/auth/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('then it issues a token the service accepts', async () => {
    const res = await devToken({ userId: 'erin', roles: ['admin'] });
    assert.equal(res.status, 201);
    const { token } = (await res.json()) as { token: string };

    const me = await fetch(`${running.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(await me.json(), { userId: 'erin', roles: ['admin'] });
  });

  it('when the request is bad, then 400 names the fields', async () => {
    const res = await devToken({ userId: 'has spaces', roles: ['root'] });

    assert.equal(res.status, 400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    assert.deepEqual(problem.errors.map((e) => e.path).sort(), ['body.roles.0', 'body.userId']);
  });
});
