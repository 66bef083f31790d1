import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { livePid } from '@mela/toolchain';
import { localNginx, startNginx } from '../src/index.js';

describe('an edge whose port another program holds', () => {
  it('when nginx would listen where another server does, then it is not started and the error names the port and how to move it', async () => {
    const squatter = createServer((socket) => socket.end('not nginx\n'));
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const { port } = squatter.address() as { port: number };
    const dir = mkdtempSync(join(tmpdir(), 'mela-edge-taken-'));
    try {
      const options = {
        listen: `127.0.0.1:${String(port)}`,
        services: {
          catalog: { servers: ['127.0.0.1:9'], loadBalancing: { algorithm: 'round-robin' } },
          cart: { servers: ['127.0.0.1:9'], loadBalancing: { algorithm: 'round-robin' } },
          order: { servers: ['127.0.0.1:9'], loadBalancing: { algorithm: 'round-robin' } },
          notification: { servers: ['127.0.0.1:9'], loadBalancing: { algorithm: 'round-robin' } },
        },
        ...localNginx(dir),
      } as const;
      await assert.rejects(
        startNginx(dir, options, { move: 'move it with MELA_EDGE_PORT' }),
        (error: Error) => {
          assert.equal(
            error.message,
            [
              'a port Mela needs is taken by another program:',
              `  127.0.0.1:${String(port)}  the edge (the shop's address)`,
              'Stop that program, or move it with MELA_EDGE_PORT.',
            ].join('\n'),
          );
          return true;
        },
      );
      assert.equal(livePid(options.dirs.pidFile), undefined);
      assert.equal(existsSync(join(dir, 'nginx.conf')), false);
    } finally {
      squatter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
