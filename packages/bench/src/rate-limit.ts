import { until } from '@mela/toolchain';
import type { Redis } from 'ioredis';
import type { Target } from './processes.js';

/** The address of the `n`-th client (in 100.64.0.0/10, as the edge would forward it). */
const clientAddress = (n: number) => `100.64.${String(n >> 8)}.${String(n & 255)}`;

/** Request headers of one client after another, round and round. */
export type Clients = () => Record<string, string>;

/** A rotation of `count` first visits: each request another address, no cookie. */
export function firstVisits(count: number): Clients {
  let next = 0;
  return () => {
    next = (next + 1) % count;
    return { 'x-forwarded-for': clientAddress(next) };
  };
}

/**
 * A rotation of `count` returning shoppers of `url`'s service: each has made its first visit
 * (one request, which issued its signed client id) and sends that cookie from its address since.
 */
export async function returningShoppers(url: string, count: number): Promise<Clients> {
  const shoppers: Record<string, string>[] = [];
  for (let first = 0; first < count; first += 100) {
    const batch = Array.from({ length: Math.min(100, count - first) }, async (_, i) => {
      const address = clientAddress(first + i);
      const visit = await fetch(url, { headers: { 'x-forwarded-for': address } });
      await visit.arrayBuffer();
      const cookie = visit.headers
        .getSetCookie()
        .map((set) => set.split(';')[0] ?? '')
        .join('; ');
      if (cookie === '') throw new Error(`${url} issued no client id on a first visit`);
      return { 'x-forwarded-for': address, cookie };
    });
    shoppers.push(...(await Promise.all(batch)));
  }
  let next = 0;
  return () => {
    next = (next + 1) % count;
    return shoppers[next] ?? {};
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
