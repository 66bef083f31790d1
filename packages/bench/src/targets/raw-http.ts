import { createServer } from 'node:http';

/** The baseline: Node's own HTTP server answering the same JSON body, nothing else. */
const body = process.env['BENCH_BODY'] ?? '{}';
const server = createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
