import autocannon from 'autocannon';
import { until } from '@mela/toolchain';
import type { Redis } from 'ioredis';
import type { Target } from './processes.js';
import type { RunFigures } from './stats.js';

/** A rotation of `count` client addresses (100.64.0.0/10, as the edge would forward them). */
export function clientAddresses(count: number): () => string {
  let next = 0;
  return () => {
    next = (next + 1) % count;
    return `100.64.${String(next >> 8)}.${String(next & 255)}`;
  };
}

/**
 * Load on `url` from many shoppers: each request names one of `clients` addresses in
 * X-Forwarded-For (as the edge would), so a limiter keeps a counter per client in Redis.
 */
export async function loadFromClients(
  url: string,
  options: { readonly seconds: number; readonly connections: number; readonly clients: number },
): Promise<RunFigures> {
  const client = clientAddresses(options.clients);
  const result = await autocannon({
    url,
    duration: options.seconds,
    connections: options.connections,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'x-forwarded-for': client() },
        }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * Refuses to measure a limiter that is not there: a request as from behind the edge must leave
 * its budget in Redis under the limiter's `keyPrefix` (retried while the service settles, then
 * reported). Counted in Redis, not read from headers: an allowed public read carries none.
 */
export async function assertLimited(
  target: Target,
  path: string,
  redis: Redis,
  keyPrefix: string,
): Promise<void> {
  let last = '';
  try {
    await until(
      async () => {
        const probe = await fetch(`${target.url}${path}`, {
          headers: { 'x-forwarded-for': '100.64.0.1' },
        });
        const body = await probe.text();
        last = `${String(probe.status)} ${JSON.stringify([...probe.headers])} ${body.slice(0, 300)}`;
        return probe.status === 200 && (await anyKey(redis, `${keyPrefix}*`));
      },
      `${target.name} to spend a budget in Redis`,
      10_000,
    );
  } catch (error) {
    throw new Error(
      `the rate limiter does not apply to the benchmark requests; last answer: ${last}`,
      { cause: error },
    );
  }
}

/** Whether any key matches `pattern` (a whole SCAN, so no key is missed). */
async function anyKey(redis: Redis, pattern: string): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) return true;
    cursor = next;
  } while (cursor !== '0');
  return false;
}
