// The checkout waiting room's admission, checked in nginx itself (njs 0.7 and later): whether
// the bearer token is one the shop's services accept, and if so an opaque key of its user, by
// which the room counts each user's places. It verifies what @mela/platform's verifier does for
// a shared secret (packages/platform/src/auth.ts): HS256 under AUTH_JWT_SECRET, `iss` and `aud`
// present and as AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE say (the platform's defaults otherwise),
// `exp` present and `nbf` if present with 30 s of clock skew, `sub` a user id and `roles` a
// short list of names. packages/platform/test/edge-token-check.integration.test.ts holds both
// to the same tokens. It only decides who may wait: the order service verifies the token again
// when the checkout reaches it.
/* global Buffer, process -- njs's own */
import crypto from 'crypto';

/** The platform's defaults for the variables nginx passes on (`env` in nginx.conf). */
const defaults = { issuer: 'mela-dev', audience: 'mela' };
const clockToleranceSeconds = 30;
const userIdPattern = /^[A-Za-z0-9_.@-]{1,64}$/;
const bearerPattern = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/i;

/** A base64url part as a JSON object, or undefined. */
function objectOf(part) {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- njs 0.7 has no `catch {`
  } catch (notJson) {
    return undefined;
  }
}

/** Compares two strings in time that depends on their length only. */
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** A date claim: absent (when optional), else a number. */
function dateOk(claims, name, required, within) {
  if (!(name in claims)) return !required;
  return typeof claims[name] === 'number' && within(claims[name] * 1000);
}

/** An `iss`/`aud`-style claim: a string (or, where `many`, strings) with `allowed` among them. */
function textOk(claims, name, allowed, many) {
  if (!(name in claims)) return false;
  const value = claims[name];
  const values = many && Array.isArray(value) ? value : [value];
  if (!many && Array.isArray(value)) return false;
  return values.every((v) => typeof v === 'string') && values.some((v) => v === allowed);
}

function rolesOk(roles) {
  if (roles === undefined) return true;
  return (
    Array.isArray(roles) &&
    roles.length <= 16 &&
    roles.every((role) => typeof role === 'string' && role.length >= 1 && role.length <= 32)
  );
}

/** The verified claims of the request's bearer token, or undefined. */
function claimsOf(r) {
  const secret = process.env.AUTH_JWT_SECRET;
  const parts = bearerPattern.exec(r.headersIn.Authorization || '');
  if (!secret || !parts) return undefined;
  const header = objectOf(parts[1]);
  if (header === undefined || header.alg !== 'HS256' || header.crit) return undefined;
  const signature = crypto
    .createHmac('sha256', secret)
    .update(`${parts[1]}.${parts[2]}`)
    .digest('base64url');
  if (!sameText(signature, parts[3])) return undefined;
  const claims = objectOf(parts[2]);
  if (claims === undefined) return undefined;
  const now = Date.now();
  const skew = clockToleranceSeconds * 1000;
  const valid =
    dateOk(claims, 'exp', true, (at) => now <= at + skew) &&
    dateOk(claims, 'nbf', false, (at) => now >= at - skew) &&
    textOk(claims, 'iss', process.env.AUTH_JWT_ISSUER || defaults.issuer, false) &&
    textOk(claims, 'aud', process.env.AUTH_JWT_AUDIENCE || defaults.audience, true) &&
    typeof claims.sub === 'string' &&
    userIdPattern.test(claims.sub) &&
    rolesOk(claims.roles);
  return valid ? claims : undefined;
}

/**
 * `js_set $mela_checkout_principal checkout_token.principal`: the user's key (as the platform's
 * `principalKey`: SHA-256 of the user id, 128 bits of it in hex), or empty when the token is not
 * valid.
 */
function principal(r) {
  const claims = claimsOf(r);
  if (claims === undefined) return '';
  return crypto.createHash('sha256').update(claims.sub).digest('hex').slice(0, 32);
}

export default { principal };
