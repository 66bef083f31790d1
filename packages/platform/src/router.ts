import { Router } from 'express';

/**
 * Paths have one spelling: routes match case-sensitively and a trailing slash is another path.
 * Express's defaults (case-insensitive, trailing slash ignored) let `/METRICS`, `/readyz/` or
 * `/api/catalog/PRODUCTS` reach a handler while the edge's and the rate limiter's matchers,
 * which compare exactly, did not recognise them; now what they do not match is not served.
 */
export const canonicalPaths = { caseSensitive: true, strict: true } as const;

/** An express Router with the canonical path rules every service's routes use. */
export function createRouter(): Router {
  return Router(canonicalPaths);
}

/** The media type of every error body (RFC 9457). */
export const problemMediaType = 'application/problem+json';
