import { once } from 'node:events';
import type { Server } from 'node:http';

/** `server` listening on a free loopback port: its `host:port`, and how to close it. */
export async function onLoopback(
  server: Server,
): Promise<{ readonly address: string; readonly close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${String(port)}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
