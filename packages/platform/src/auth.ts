import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import {
  SignJWT,
  createRemoteJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JWTVerifyGetKey,
} from 'jose';
import { TokenError, createVerifier } from 'fast-jwt';
import { z } from 'zod';
import {
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
} from '@mela/core';
import { ApiRouter, operation } from './api.js';

/** Who is calling: `sub` of the verified token and its `roles` claim. */
export interface Principal {
  readonly userId: string;
  readonly roles: readonly string[];
}

export interface TokenVerifier {
  /** Resolves the principal of a valid token; rejects with {@link UnauthorizedError} otherwise. */
  verify(token: string): Promise<Principal>;
}

export interface AuthOptions {
  readonly issuer: string;
  readonly audience: string;
  /** HS256 shared secret. */
  readonly secret?: string | undefined;
  /** JWKS endpoint for asymmetric keys; takes precedence over `secret`. */
  readonly jwksUrl?: string | undefined;
  /** Accepted clock skew. @default 30 */
  readonly clockToleranceSeconds?: number;
}

const userIdPattern = /^[A-Za-z0-9_.@-]{1,64}$/;
const claimsSchema = z.object({
  sub: z.string().regex(userIdPattern, 'sub must be a user id'),
  roles: z.array(z.string().min(1).max(32)).max(16).optional(),
});

/**
 * The identity provider's public keys, fetched from its JWKS endpoint (cached; fetched again for
 * an unknown key id, so a key rotation needs no restart). A token naming no key of the set is
 * not valid (401); an endpoint that cannot be reached or answers nonsense is the provider being
 * down (503), not the shopper's fault — a 401 would make clients throw good tokens away.
 */
function identityProviderKeys(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (
        error instanceof joseErrors.JWKSNoMatchingKey ||
        error instanceof joseErrors.JWKSMultipleMatchingKeys ||
        error instanceof joseErrors.JOSENotSupported
      ) {
        throw error;
      }
      throw new DependencyUnavailableError('identity provider', error);
    }
  };
}

/** A verified token's claims, or a rejection (jose's or fast-jwt's error) when it is not valid. */
type VerifyPayload = (token: string) => Promise<unknown>;

/**
 * What every token must carry, whoever signed it: jose requires `iss` and `aud` too when told
 * what they must be; fast-jwt checks them only when present, so they are named here.
 */
const requiredClaims = ['sub', 'exp', 'iss', 'aud'];
/** Accepted clock skew when the options name none (see {@link AuthOptions}). */
const defaultClockToleranceSeconds = 30;

/**
 * A shared secret's HS256 tokens, verified in this thread: fast-jwt computes the HMAC with
 * node:crypto at once. jose verifies through WebCrypto, which hands every HMAC to the thread
 * pool: on a busy two-core replica that hop took the main thread off its core, 14 % of an order
 * replica's samples in a flash sale (docs/performance.md).
 */
function secretVerifier(options: AuthOptions & { readonly secret: string }): VerifyPayload {
  const verify = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    allowedIss: options.issuer,
    allowedAud: options.audience,
    clockTolerance: (options.clockToleranceSeconds ?? defaultClockToleranceSeconds) * 1000,
    requiredClaims,
  });
  // A token it refuses throws: the promise rejects with fast-jwt's TokenError.
  return (token) =>
    new Promise<unknown>((resolve) => {
      resolve(verify(token));
    });
}

/** An identity provider's tokens, verified by jose against the keys of its JWKS. */
function jwksVerifier(options: AuthOptions & { readonly jwksUrl: string }): VerifyPayload {
  const key = identityProviderKeys(new URL(options.jwksUrl));
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockTolerance: options.clockToleranceSeconds ?? defaultClockToleranceSeconds,
    requiredClaims,
  };
  return async (token) => (await jwtVerify(token, key, verifyOptions)).payload;
}

/** Verifies bearer JWTs against a shared secret or a JWKS, checking issuer, audience and expiry. */
export function createTokenVerifier(options: AuthOptions): TokenVerifier {
  const { jwksUrl, secret } = options;
  let payloadOf: VerifyPayload;
  if (jwksUrl !== undefined) payloadOf = jwksVerifier({ ...options, jwksUrl });
  else if (secret !== undefined) payloadOf = secretVerifier({ ...options, secret });
  else throw new Error('a token verifier needs a secret or a JWKS URL');
  return {
    async verify(token) {
      try {
        const claims = claimsSchema.safeParse(await payloadOf(token));
        if (!claims.success) throw new UnauthorizedError('The token has malformed claims.');
        return { userId: claims.data.sub, roles: claims.data.roles ?? [] };
      } catch (error) {
        if (error instanceof UnauthorizedError) throw error;
        if (
          error instanceof joseErrors.JWTExpired ||
          (error instanceof TokenError && error.code === TokenError.codes.expired)
        ) {
          throw new UnauthorizedError('The token has expired.', error);
        }
        if (error instanceof joseErrors.JOSEError || error instanceof TokenError) {
          throw new UnauthorizedError('The token is not valid.', error);
        }
        throw error;
      }
    },
  };
}

export interface TokenIssuer {
  issue(principal: Principal): Promise<string>;
  readonly ttlSeconds: number;
}

/** Signs HS256 tokens for local development; never configured in production. */
export function createDevTokenIssuer(options: {
  readonly issuer: string;
  readonly audience: string;
  readonly secret: string;
  /** @default 3600 */
  readonly ttlSeconds?: number;
}): TokenIssuer {
  const key = new TextEncoder().encode(options.secret);
  const ttlSeconds = options.ttlSeconds ?? 3600;
  return {
    ttlSeconds,
    issue: (principal) =>
      new SignJWT({ roles: [...principal.roles] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(principal.userId)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key),
  };
}

const principals = new WeakMap<Request, Principal>();
const verifications = new WeakMap<Request, Promise<Principal>>();

/**
 * Verifies the request's `Authorization: Bearer` token, once per request however many
 * middlewares ask (the rate limiter, then the route's {@link requireUser}).
 */
export function verifyRequest(req: Request, verifier: TokenVerifier): Promise<Principal> {
  let verification = verifications.get(req);
  if (verification === undefined) {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    verification =
      match?.[1] === undefined
        ? Promise.reject(new UnauthorizedError())
        : verifier.verify(match[1]);
    verifications.set(req, verification);
  }
  return verification;
}

/** Middleware: requires a valid `Authorization: Bearer` token and remembers its principal. */
export function requireUser(verifier: TokenVerifier) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    principals.set(req, await verifyRequest(req, verifier));
    next();
  };
}

/**
 * Middleware for a user's own data: {@link requireUser}, and `Cache-Control: private, no-store`
 * on every answer, so no shared cache (the edge's, a proxy's) ever keeps one user's answer.
 */
export function requireUserPrivately(verifier: TokenVerifier) {
  const user = requireUser(verifier);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    res.set('Cache-Control', 'private, no-store');
    await user(req, res, next);
  };
}

/** The caller's user id, after {@link requireUser}. */
export function userIdOf(req: Request): string {
  return principalOf(req).userId;
}

/** Middleware after {@link requireUser}: the principal must hold `role`. */
export function requireRole(role: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!principalOf(req).roles.includes(role)) {
      throw new ForbiddenError(`This needs the "${role}" role.`);
    }
    next();
  };
}

/** The principal {@link requireUser} verified for this request. */
export function principalOf(req: Request): Principal {
  const principal = principals.get(req);
  if (principal === undefined) throw new UnauthorizedError();
  return principal;
}

/**
 * Per-user data: the caller must own it. Someone else's resource answers 404, exactly like a
 * missing one, so ids cannot be probed.
 */
export function assertOwner(principal: Principal, ownerId: string, what = 'resource'): void {
  if (principal.userId !== ownerId) throw new NotFoundError(`No such ${what}.`);
}

const devTokenRequest = z.object({
  userId: z.string().regex(userIdPattern, 'letters, digits and _ . @ - only, at most 64'),
  roles: z
    .array(z.enum(['user', 'admin']))
    .max(2)
    .default(['user']),
});

const tokenAnswer = z.object({
  token: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.int().meta({ description: 'Seconds the token is valid for.' }),
});

const devTokenOperation = operation({
  method: 'post',
  path: '/api/auth/dev-token',
  operationId: 'issueDevToken',
  summary: 'A bearer token for any user (local development only; off in production)',
  tag: 'auth',
  body: devTokenRequest,
  responses: { 201: { description: 'The token.', body: tokenAnswer } },
});

/** `POST /api/auth/dev-token {userId, roles?}` → `{token}`; mount only when dev tokens are on. */
export function devTokenRouter(issuer: TokenIssuer): ApiRouter {
  return new ApiRouter().handle(devTokenOperation, async ({ body }, _req, res) => {
    const token = await issuer.issue({ userId: body.userId, roles: body.roles });
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .json({ token, tokenType: 'Bearer', expiresIn: issuer.ttlSeconds });
  });
}

const meQuery = z.strictObject({ role: z.enum(['user', 'admin']).optional() });

/**
 * The header `/api/auth/me` names the caller in, as an opaque key: the edge's checkout waiting
 * room counts each user's places by it (the edge's `principalHeader` is the same name).
 */
export const principalKeyHeader = 'Mela-Principal';

/** An opaque, fixed-length key of a user id (SHA-256, 128 bits of it, hex). */
export function principalKey(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 32);
}

const whoAmIOperation = operation({
  method: 'get',
  path: '/api/auth/me',
  operationId: 'whoAmI',
  summary: 'Who the bearer is (403 when asked for a role the token lacks)',
  tag: 'auth',
  auth: 'user',
  query: meQuery,
  responses: {
    200: {
      description: 'The bearer.',
      body: z.object({ userId: z.string(), roles: z.array(z.string()) }),
      headers: z.object({
        [principalKeyHeader]: z
          .string()
          .meta({ description: 'An opaque key of the user (the edge counts checkouts by it).' }),
      }),
    },
  },
  problems: [403],
});

/**
 * `GET /api/auth/me[?role=admin]` → `{userId, roles}` of the bearer token: 401 without a valid
 * token, 403 when it lacks the asked role. The storefront shows who is signed in; the edge asks
 * it before an admin purges its cache.
 */
export function whoAmIRouter(verifier: TokenVerifier): ApiRouter {
  return new ApiRouter(verifier).handle(whoAmIOperation, ({ query }, req, res) => {
    const principal = principalOf(req);
    if (query.role !== undefined && !principal.roles.includes(query.role)) {
      throw new ForbiddenError(`This needs the "${query.role}" role.`);
    }
    res
      .set('Cache-Control', 'no-store')
      .set(principalKeyHeader, principalKey(principal.userId))
      .json({ userId: principal.userId, roles: principal.roles });
  });
}
