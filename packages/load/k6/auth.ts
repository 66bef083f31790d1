/**
 * Bearer tokens for k6's virtual users. Where the services verify a shared key (dev, test
 * clusters: the `mela-auth` Secret's key, passed in as AUTH_JWT_SECRET), they are signed here
 * like the services' dev tokens, so ten thousand buyers need no logins. Where an identity
 * provider issues tokens, no signing key leaves it: LOAD_TOKENS holds the tokens it issued for
 * the test users, as a JSON object `{userId: token}`.
 */
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';

const base64url = (text: string) => encoding.b64encode(text, 'rawurl');

const issued: Record<string, string> | undefined = __ENV['LOAD_TOKENS']
  ? (JSON.parse(__ENV['LOAD_TOKENS']) as Record<string, string>)
  : undefined;

export function bearer(userId: string, roles: readonly string[] = ['user']): string {
  if (issued !== undefined) {
    const token = issued[userId];
    if (token === undefined) throw new Error(`LOAD_TOKENS has no token for ${userId}`);
    return `Bearer ${token}`;
  }
  const secret = __ENV['AUTH_JWT_SECRET'];
  if (!secret) {
    throw new Error('set AUTH_JWT_SECRET (the mela-auth Secret, jwt-secret key) or LOAD_TOKENS');
  }
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({
      sub: userId,
      roles,
      iss: __ENV['AUTH_JWT_ISSUER'] ?? 'mela-dev',
      aud: __ENV['AUTH_JWT_AUDIENCE'] ?? 'mela',
      iat: now,
      exp: now + 3600,
    }),
  );
  const signature = crypto.hmac('sha256', secret, `${header}.${payload}`, 'base64rawurl');
  return `Bearer ${header}.${payload}.${signature}`;
}
