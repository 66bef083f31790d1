import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { principalHeader, startOwnEdge, type OwnEdge } from '@mela/edge';
import { httpRequest, onLoopback } from '@mela/testkit';
import {
  createDevTokenIssuer,
  createTokenVerifier,
  platformConfigSchema,
  principalKey,
} from '../src/index.js';

const secret = 'checkout-token-test-secret-0123456789abcdef';
const issuer = 'mela-test-issuer';
const audience = 'mela-test-audience';

/** An order replica that answers every checkout 200 and keeps the principal key it was given. */
async function startOrderReplica() {
  const principals: string[] = [];
  const server = createServer((req, res) => {
    principals.push(String(req.headers[principalHeader.toLowerCase()]));
    res.setHeader('content-type', 'application/json').end('{}');
  });
  const { address, close } = await onLoopback(server);
  return { address, principals, stop: close };
}

/** A catalog that counts what it is asked: with the check in nginx, it must never be asked. */
async function startCatalog() {
  let asked = 0;
  const server = createServer((_req, res) => {
    asked += 1;
    res.writeHead(500).end();
  });
  const { address, close } = await onLoopback(server);
  return { address, asked: () => asked, stop: close };
}

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT signed by hand: any header, any claims, any key. */
function sign(header: unknown, claims: unknown, key = secret): string {
  const signed = `${part(header)}.${part(claims)}`;
  return `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const hs256 = { alg: 'HS256', typ: 'JWT' };
/** Claims the services accept, for `user`. */
const good = (user = 'buyer-1') => ({
  sub: user,
  roles: ['user'],
  iss: issuer,
  aud: audience,
  iat: now(),
  exp: now() + 600,
});
const without = (claim: string) =>
  Object.fromEntries(Object.entries(good()).filter(([name]) => name !== claim));

/** Tokens, each with whether the services accept it. */
const tokens: readonly {
  readonly name: string;
  readonly token: string;
  readonly valid: boolean;
}[] = [
  { name: 'a valid token', token: sign(hs256, good()), valid: true },
  { name: 'roles absent', token: sign(hs256, without('roles')), valid: true },
  {
    name: 'aud a list holding the audience',
    token: sign(hs256, { ...good(), aud: ['x', audience] }),
    valid: true,
  },
  {
    name: 'expired 10 s ago (within the skew)',
    token: sign(hs256, { ...good(), exp: now() - 10 }),
    valid: true,
  },
  {
    name: 'active in 10 s (within the skew)',
    token: sign(hs256, { ...good(), nbf: now() + 10 }),
    valid: true,
  },
  { name: 'a user id of 64 characters', token: sign(hs256, good('u'.repeat(64))), valid: true },
  { name: 'another key', token: sign(hs256, good(), `${secret}-not`), valid: false },
  { name: 'claims changed after signing', token: tampered(), valid: false },
  { name: 'no signature', token: `${part({ alg: 'none' })}.${part(good())}.`, valid: false },
  { name: 'alg none, signed anyway', token: sign({ alg: 'none' }, good()), valid: false },
  { name: 'alg HS512', token: sign({ alg: 'HS512' }, good()), valid: false },
  {
    name: 'a crit header',
    token: sign({ ...hs256, crit: ['x-mela'], 'x-mela': 1 }, good()),
    valid: false,
  },
  {
    name: 'expired a minute ago',
    token: sign(hs256, { ...good(), exp: now() - 60 }),
    valid: false,
  },
  { name: 'no exp', token: sign(hs256, without('exp')), valid: false },
  {
    name: 'exp a string',
    token: sign(hs256, { ...good(), exp: String(now() + 600) }),
    valid: false,
  },
  { name: 'active in a minute', token: sign(hs256, { ...good(), nbf: now() + 60 }), valid: false },
  { name: 'another issuer', token: sign(hs256, { ...good(), iss: 'someone-else' }), valid: false },
  { name: 'no issuer', token: sign(hs256, without('iss')), valid: false },
  { name: 'issuer a list', token: sign(hs256, { ...good(), iss: [issuer] }), valid: false },
  {
    name: 'another audience',
    token: sign(hs256, { ...good(), aud: 'someone-else' }),
    valid: false,
  },
  { name: 'no audience', token: sign(hs256, without('aud')), valid: false },
  { name: 'no sub', token: sign(hs256, without('sub')), valid: false },
  { name: 'sub not a user id', token: sign(hs256, good('buyer 1')), valid: false },
  { name: 'sub of 65 characters', token: sign(hs256, good('u'.repeat(65))), valid: false },
  { name: 'roles not a list', token: sign(hs256, { ...good(), roles: 'user' }), valid: false },
  { name: 'an empty role', token: sign(hs256, { ...good(), roles: [''] }), valid: false },
  {
    name: '17 roles',
    token: sign(hs256, { ...good(), roles: Array(17).fill('user') }),
    valid: false,
  },
  { name: 'claims a list', token: sign(hs256, [good()]), valid: false },
  { name: 'claims not JSON', token: `${part(hs256)}.bm90IGpzb24.${'A'.repeat(43)}`, valid: false },
];

function tampered(): string {
  const [header = '', , signature = ''] = sign(hs256, good('buyer-1')).split('.');
  return `${header}.${part(good('buyer-2'))}.${signature}`;
}

describe('the checkout token check in nginx (njs, real nginx)', () => {
  let replica: Awaited<ReturnType<typeof startOrderReplica>>;
  let catalog: Awaited<ReturnType<typeof startCatalog>>;
  let edge: OwnEdge;
  before(async () => {
    replica = await startOrderReplica();
    catalog = await startCatalog();
    const lb = { loadBalancing: { algorithm: 'round-robin' } } as const;
    edge = await startOwnEdge(
      {
        order: { servers: [replica.address], ...lb },
        catalog: { servers: [catalog.address], ...lb },
      },
      {
        tokens: {
          AUTH_JWT_SECRET: secret,
          AUTH_JWT_ISSUER: issuer,
          AUTH_JWT_AUDIENCE: audience,
        },
      },
    );
  });
  after(() => Promise.all([edge.stop(), replica.stop(), catalog.stop()]));

  const checkout = (token: string) =>
    httpRequest(`${edge.url}/api/orders`, {
      method: 'POST',
      body: '{}',
      headers: { authorization: `Bearer ${token}` },
    });

  it("when a checkout brings a token the services issued, then it waits its turn under its user's key, and the catalog is never asked", async () => {
    const issued = await createDevTokenIssuer({ issuer, audience, secret }).issue({
      userId: 'alice@example.com',
      roles: ['user'],
    });
    const before = replica.principals.length;

    const answer = await checkout(issued);

    assert.equal(answer.status, 200);
    assert.deepEqual(replica.principals.slice(before), [principalKey('alice@example.com')]);
    assert.equal(catalog.asked(), 0);
  });

  it('when tokens of every kind arrive, then nginx admits exactly those the services accept', async () => {
    const verifier = createTokenVerifier({ issuer, audience, secret });
    const disagreements: string[] = [];

    for (const { name, token, valid } of tokens) {
      const services = await verifier.verify(token).then(
        () => true,
        () => false,
      );
      const answer = await checkout(token);
      const admitted = answer.status === 200;
      if (answer.status !== 200) {
        assert.equal(answer.status, 401, name);
        assert.equal(answer.headers['content-type'], 'application/problem+json', name);
      }
      if (services !== valid || admitted !== valid)
        disagreements.push(
          `${name}: expected ${String(valid)}, services ${String(services)}, edge ${String(admitted)}`,
        );
    }

    assert.deepEqual(disagreements, []);
    assert.equal(catalog.asked(), 0);
  });

  it("when nginx's environment names no issuer or audience, then it expects the platform's defaults, as a service would", async () => {
    const lb = { loadBalancing: { algorithm: 'round-robin' } } as const;
    // The platform's default issuer and audience: the test's tokens name others.
    const defaults = await startOwnEdge(
      {
        order: { servers: [replica.address], ...lb },
        catalog: { servers: [catalog.address], ...lb },
      },
      { tokens: { AUTH_JWT_SECRET: secret } },
    );
    try {
      // What a service with the same environment expects.
      const { auth } = platformConfigSchema.parse({ AUTH_JWT_SECRET: secret });
      const platformDefaults = { ...good(), iss: auth.issuer, aud: auth.audience };
      const refused = await httpRequest(`${defaults.url}/api/orders`, {
        method: 'POST',
        body: '{}',
        headers: { authorization: `Bearer ${sign(hs256, good())}` },
      });
      const admitted = await httpRequest(`${defaults.url}/api/orders`, {
        method: 'POST',
        body: '{}',
        headers: { authorization: `Bearer ${sign(hs256, platformDefaults)}` },
      });

      assert.equal(refused.status, 401);
      assert.equal(admitted.status, 200);
    } finally {
      await defaults.stop();
    }
  });
});
