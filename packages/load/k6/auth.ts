/**
 * Bearer tokens for k6's virtual users, signed like the services' dev tokens (HS256 with the
 * `mela-auth` Secret's key, which the TestRun passes in as AUTH_JWT_SECRET): a load generator
 * for a test or staging cluster holds the signing key so ten thousand buyers need no logins.
 */
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';

const base64url = (text: string) => encoding.b64encode(text, 'rawurl');

export function bearer(userId: string, roles: readonly string[] = ['user']): string {
  const secret = __ENV['AUTH_JWT_SECRET'];
  if (!secret) throw new Error('set AUTH_JWT_SECRET (the mela-auth Secret, jwt-secret key)');
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
