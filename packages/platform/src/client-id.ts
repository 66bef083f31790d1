import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { parseCookie } from 'cookie';
import QuickLRU from 'quick-lru';
import type { Request, Response } from 'express';
import onHeaders from 'on-headers';
import { clientIdCookie } from '@mela/topology';

/** A year: a returning shopper keeps the same budget. */
const maxAgeMs = 365 * 24 * 3600 * 1000;

/**
 * Signed ids for anonymous clients: 128 random bits and an HMAC-SHA256 tag (128 bits of it), so
 * only ids this shop issued count — a script cannot make up a fresh budget per request.
 */
export interface ClientIds {
  /** The id in `req`'s cookie when its signature holds, else undefined. */
  read(req: Request): string | undefined;
  /** Sets a new id on `res`, marks the response private (no shared cache keeps a cookie), returns the id. */
  issue(req: Request, res: Response): string;
}

/**
 * 128 random bits as base64url, from a pool filled 256 ids at a time (as Node does for
 * `randomUUID`): a client that drops its cookie is issued an id on every request, and a
 * `randomBytes` call each was 7 % of the limited product page's CPU.
 */
const idBytes = 16;
const pool = Buffer.alloc(idBytes * 256);
let poolOffset = pool.length;
function randomId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + idBytes);
  poolOffset += idBytes;
  return id;
}

export function createClientIds(secret: string, maxVerified = 100_000): ClientIds {
  const tag = (id: string) =>
    createHmac('sha256', secret).update(id).digest().subarray(0, 16).toString('base64url');
  // Cookies whose tag held, with their ids: a returning shopper's next requests skip the HMAC.
  // Only genuine ids are kept, so made-up cookies cannot push them out. Grown as shoppers come
  // (two generations of at most `maxVerified`), nothing allocated up front.
  const verified = new QuickLRU<string, string>({ maxSize: maxVerified });
  return {
    read(req) {
      const header = req.headers.cookie;
      if (header === undefined) return undefined;
      const value = parseCookie(header)[clientIdCookie];
      if (value === undefined) return undefined;
      const known = verified.get(value);
      if (known !== undefined) return known;
      const match = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/.exec(value);
      if (!match?.[1] || !match[2]) return undefined;
      const expected = Buffer.from(tag(match[1]));
      const given = Buffer.from(match[2]);
      if (!timingSafeEqual(expected, given)) return undefined;
      verified.set(value, match[1]);
      return match[1];
    },
    issue(req, res) {
      const id = randomId();
      res.cookie(clientIdCookie, `${id}.${tag(id)}`, {
        path: '/',
        maxAge: maxAgeMs,
        httpOnly: true,
        sameSite: 'lax',
        secure: req.secure,
      });
      // Whatever the route says about caching, a response setting a cookie is this client's only.
      onHeaders(res, () => {
        res.setHeader('Cache-Control', 'private, no-store');
      });
      return id;
    },
  };
}
