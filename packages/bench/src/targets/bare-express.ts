import express from 'express';
import { cpuSeconds, serveTarget } from './serve.js';

/**
 * The framework baseline: one express JSON route with the same body, no middleware. With
 * `BENCH_COUNT_CLIENTS=1`, one middleware in front does the least a limiter that tells clients
 * apart must: a counter per client in memory, one for its id cookie and one for its forwarded
 * address (no Redis, no signature, no window, nothing refused). Never bounded: the bench's
 * clients are a fixed rotation. `GET /cpu` answers this process's CPU.
 */
const body = JSON.parse(process.env['BENCH_BODY'] ?? '{}') as unknown;
const app = express();
if (process.env['BENCH_COUNT_CLIENTS'] === '1') {
  const seen = new Map<string, { count: number }>();
  const count = (key: string | string[] | undefined) => {
    if (typeof key !== 'string') return;
    const entry = seen.get(key);
    if (entry === undefined) seen.set(key, { count: 1 });
    else entry.count += 1;
  };
  app.use((req, _res, next) => {
    count(req.headers.cookie);
    count(req.headers['x-forwarded-for']);
    next();
  });
}
app.get('/api/catalog/products/:id', (_req, res) => {
  res.json(body);
});
app.get('/cpu', (_req, res) => {
  res.json(cpuSeconds());
});
serveTarget(app);
