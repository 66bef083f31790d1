#!/usr/bin/env node
import { z } from 'zod';
import { createDevTokenIssuer } from './auth.js';
import { commandLine, envInt, loadConfig } from '@mela/core';
import { platformEnv } from './config.js';

/**
 * `npm run dev-token -- --user alice [--roles admin] [--ttl 3600]` prints a bearer token for the
 * local stack. Like the HTTP endpoint it exists only when AUTH_DEV_TOKENS=true, never in production.
 */
async function main(): Promise<void> {
  const { values } = commandLine({
    usage: 'npm run dev-token -- --user ID [--roles user,admin] [--ttl SECONDS]',
    summary:
      'Prints a bearer token for the local shop (signed with its dev secret). Exists only with AUTH_DEV_TOKENS=true, never in production.',
    options: {
      user: { type: 'string', short: 'u', value: 'ID', help: 'the user id, the token’s sub' },
      roles: {
        type: 'string',
        short: 'r',
        default: 'user',
        value: 'LIST',
        help: 'comma-separated',
      },
      ttl: { type: 'string', default: '3600', value: 'SECONDS', help: 'from 60 to a week' },
    },
  });
  const config = loadConfig(
    z
      .object({
        NODE_ENV: platformEnv.NODE_ENV,
        AUTH_DEV_TOKENS: platformEnv.AUTH_DEV_TOKENS.refine((on) => on, {
          error: 'dev tokens are off; set AUTH_DEV_TOKENS=true',
        }),
        AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
        AUTH_JWT_ISSUER: platformEnv.AUTH_JWT_ISSUER,
        AUTH_JWT_AUDIENCE: platformEnv.AUTH_JWT_AUDIENCE,
        user: z
          .string({ error: 'pass --user <id>' })
          .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'letters, digits and _ . @ - only'),
        ttl: envInt({ min: 60, max: 7 * 24 * 3600 }),
      })
      .refine((c) => c.NODE_ENV !== 'production', {
        path: ['NODE_ENV'],
        error: 'no dev tokens in production',
      }),
    { ...process.env, user: values.user, ttl: values.ttl },
  );
  const issuer = createDevTokenIssuer({
    issuer: config.AUTH_JWT_ISSUER,
    audience: config.AUTH_JWT_AUDIENCE,
    secret: config.AUTH_JWT_SECRET,
    ttlSeconds: config.ttl,
  });
  const roles = values.roles
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  process.stdout.write(`${await issuer.issue({ userId: config.user, roles })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
