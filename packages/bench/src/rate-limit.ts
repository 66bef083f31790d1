import autocannon from 'autocannon';
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
