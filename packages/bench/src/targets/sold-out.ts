import { listenBacklog } from '@mela/topology';
import { cpuSeconds, serveTarget } from './serve.js';

/**
 * The flash sale's baseline: Node's own HTTP server reading each checkout's body and answering
 * the order service's sold-out problem at once, nothing else. A burst of buyers against it is
 * what this machine can decide with no work at all: the ceiling for the sale's decisions/s.
 * `GET /cpu` answers the CPU it has spent, so the bench can count its CPU per decision.
 */
const body = process.env['BENCH_BODY'] ?? '{}';
// The order service's backlog: a burst past it would wait for the kernel's resend.
serveTarget((req, res) => {
  if (req.method === 'GET' && req.url === '/cpu') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(cpuSeconds()));
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
}, listenBacklog);
