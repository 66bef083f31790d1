import { createServer } from 'node:http';
import { listenBacklog } from '@mela/topology';

/**
 * The flash sale's baseline: Node's own HTTP server reading each checkout's body and answering
 * the order service's sold-out problem at once, nothing else. A burst of buyers against it is
 * what this machine can decide with no work at all: the ceiling for the sale's decisions/s.
 * `GET /cpu` answers the CPU it has spent, so the bench can count its CPU per decision.
 */
const body = process.env['BENCH_BODY'] ?? '{}';
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/cpu') {
    // The CPU this process has spent, in seconds, for the bench's CPU per decision.
    const { user, system } = process.cpuUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ seconds: (user + system) / 1e6 }));
    return;
  }
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
