import { randomBytes } from 'node:crypto';
import type { Express, RequestHandler } from 'express';
import { Writable } from 'node:stream';
import {
  createHttpService,
  createPlatform,
  createServiceApp,
  loadConfig,
  platformConfigSchema,
  type ApiRouter,
  type HttpService,
  type Platform,
} from '../src/index.js';

/** A fresh HS256 secret per test file, so no test depends on another's tokens. */
export const testSecret = randomBytes(32).toString('base64url');

/** Environment for a platform under test: port 0, quiet logs, a test secret. */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    // Verifying against an identity provider's keys, a service holds no secret.
    ...(extra['AUTH_JWKS_URL'] === undefined ? { AUTH_JWT_SECRET: testSecret } : {}),
    ...extra,
  };
}

/** Collects log lines in memory, for tests that assert on logs. */
export function memoryLog(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export interface RunningApp {
  readonly platform: Platform;
  readonly app: Express;
  readonly service: HttpService;
  readonly url: string;
}

/** Starts a platform app with the given routes on a free port. */
export async function startApp(
  routes: (app: Express, platform: Platform, mount: (api: ApiRouter) => void) => void,
  env: Record<string, string> = {},
  logDestination?: Writable,
  rateLimit?: (platform: Platform) => RequestHandler,
): Promise<RunningApp> {
  const config = loadConfig(platformConfigSchema, testEnv(env));
  const platform = createPlatform('test', config, logDestination ? { logDestination } : {});
  const app = createServiceApp(
    platform,
    (a, mount) => routes(a, platform, mount),
    rateLimit ? { rateLimit: rateLimit(platform) } : {},
  );
  const service = createHttpService(platform, app);
  const address = await service.start();
  return { platform, app, service, url: `http://127.0.0.1:${address.port}` };
}

/**
 * The value of one sample in Prometheus text format, matched by name and a subset of its
 * labels (in any order); undefined when there is no such series.
 */
export function sample(
  exposition: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value))
      return Number(match[3]);
  }
  return undefined;
}
