import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { requireUser, principalOf } from '../src/index.js';
import { startApp, testSecret, type RunningApp } from './support.js';

const issuer = 'https://login.test/';
const audience = 'https://shop.test/api';

/** An identity provider's JWKS endpoint: a real HTTP server publishing its public keys. */
class IdentityProvider {
  private server: Server | undefined;
  port = 0;
  readonly keys: JWK[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: this.keys }));
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${String(this.port)}/.well-known/jwks.json`;
  }
}

async function signer(kid: string, alg: 'ES256' | 'RS256', provider: IdentityProvider) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  provider.keys.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' });
  return { privateKey, publicKey, sign: (claims: Claims) => sign(privateKey, kid, alg, claims) };
}

interface Claims {
  readonly sub?: string;
  readonly iss?: string;
  readonly aud?: string;
}

function sign(key: CryptoKey | Uint8Array, kid: string, alg: string, claims: Claims = {}) {
  return new SignJWT({ roles: ['user'] })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setSubject(claims.sub ?? 'alice')
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

describe('tokens from an identity provider, verified against its JWKS (no shared secret)', () => {
  const provider = new IdentityProvider();
  let ec: Awaited<ReturnType<typeof signer>>;
  let rsa: Awaited<ReturnType<typeof signer>>;
  let running: RunningApp;

  before(async () => {
    await provider.start();
    ec = await signer('ec-1', 'ES256', provider);
    rsa = await signer('rsa-1', 'RS256', provider);
    // Down before the service has ever fetched the keys.
    await provider.stop();
    running = await startApp(
      (app, platform) => {
        app.get('/me', requireUser(platform.tokens), (req, res) => {
          res.json(principalOf(req));
        });
      },
      { AUTH_JWKS_URL: provider.jwksUrl, AUTH_JWT_ISSUER: issuer, AUTH_JWT_AUDIENCE: audience },
    );
  });
  after(async () => {
    await running.service.stop();
    await provider.stop();
  });

  const me = (token: string) =>
    fetch(`${running.url}/me`, { headers: { authorization: `Bearer ${token}` } });

  it('when the identity provider cannot be reached, then a shopper with a good token gets 503, not 401, and 200 once it is back', async () => {
    const token = await ec.sign({});
    const down = await me(token);
    const problem = (await down.json()) as { code: string; dependency: string };

    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '1');
    assert.deepEqual(
      [problem.code, problem.dependency],
      ['dependency_unavailable', 'identity provider'],
    );
    await provider.start();
    const up = await me(token);
    assert.equal(up.status, 200);
    assert.deepEqual(await up.json(), { userId: 'alice', roles: ['user'] });
  });

  it('when the provider signs with any of its published keys, then the token is accepted', async () => {
    assert.equal((await me(await rsa.sign({ sub: 'bob' }))).status, 200);
  });

  it('when a token is for another audience or issuer, signed with a shared secret, made with the public key as an HMAC key, or unsigned, then 401', async () => {
    const publicJwk = provider.keys.find((k) => k.kid === 'rsa-1');
    const hmacWithPublicKey = new TextEncoder().encode(JSON.stringify(publicJwk));
    const [header = '', payload = ''] = (await ec.sign({})).split('.');
    const tokens = {
      otherAudience: await ec.sign({ aud: 'another-api' }),
      otherIssuer: await ec.sign({ iss: 'https://evil.test/' }),
      devSecret: await sign(new TextEncoder().encode(testSecret), 'ec-1', 'HS256'),
      algorithmConfusion: await sign(hmacWithPublicKey, 'rsa-1', 'HS256'),
      unknownKey: await sign((await generateKeyPair('ES256')).privateKey, 'ec-9', 'ES256'),
      unsigned: `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`,
      tampered: `${header}.${Buffer.from(JSON.stringify({ sub: 'admin', iss: issuer, aud: audience, exp: 9e9 })).toString('base64url')}.${(await ec.sign({})).split('.')[2] ?? ''}`,
    };
    for (const [name, token] of Object.entries(tokens)) {
      const res = await me(token);
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
  });

  it('when the provider goes down after the keys were fetched, then tokens still verify from the cached keys', async () => {
    await provider.stop();
    assert.equal((await me(await ec.sign({ sub: 'carol' }))).status, 200);
  });
});
