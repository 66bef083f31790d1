import { Agent, request } from 'node:http';
import { figuresOf, type RunFigures } from './stats.js';

/**
 * A closed-loop latency probe with microsecond timing (autocannon reports whole milliseconds):
 * `connections` keep-alive clients each send a request, wait for the whole response, and
 * record the time, for `seconds`.
 */
export async function measureLatency(
  base: string,
  options: {
    readonly connections: number;
    readonly seconds: number;
    readonly path: () => string;
    /** Headers of each request (e.g. a different client's X-Forwarded-For). */
    readonly headers?: () => Record<string, string>;
  },
): Promise<RunFigures> {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const samples: number[] = [];
  let errors = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: options.path(),
          agent,
          headers: options.headers?.() ?? {},
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            if (res.statusCode === 200) samples.push(performance.now() - started);
            else errors += 1;
            resolve();
          });
        },
      );
      req.once('error', () => {
        errors += 1;
        resolve();
      });
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return figuresOf(samples, elapsed, errors);
}
