import { createServer } from 'node:http';
import { listenBacklog } from '@mela/topology';

/**
 * The flash sale's baseline: Node's own HTTP server reading each checkout's body and answering
 * the order service's sold-out problem at once, nothing else. A burst of buyers against it is
 * what this machine can decide with no work at all: the ceiling for the sale's decisions/s.
 */
const body = process.env['BENCH_BODY'] ?? '{}';
const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(409, {
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});
// The order service's backlog: a burst past it would wait for the kernel's resend.
server.listen({ port: 0, host: '127.0.0.1', backlog: listenBacklog }, () => {
  process.stdout.write(
    `${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
