import { serveTarget } from './serve.js';

/** The baseline: Node's own HTTP server answering the same JSON body, nothing else. */
const body = process.env['BENCH_BODY'] ?? '{}';
serveTarget((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
