import express from 'express';

/** The framework baseline: one express JSON route with the same body, no middleware. */
const body = JSON.parse(process.env['BENCH_BODY'] ?? '{}') as unknown;
const app = express();
app.get('/api/catalog/products/:id', (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
