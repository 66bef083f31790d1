import express from 'express';
import { serveTarget } from './serve.js';

/** The framework baseline: one express JSON route with the same body, no middleware. */
const body = JSON.parse(process.env['BENCH_BODY'] ?? '{}') as unknown;
const app = express();
app.get('/api/catalog/products/:id', (_req, res) => {
  res.json(body);
});
serveTarget(app);
