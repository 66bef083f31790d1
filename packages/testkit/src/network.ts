import { freePort, freePorts } from '@mela/toolchain';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/** A loopback port nothing listens on: connecting to it is refused, like a dead server. */
export const deadPort = freePort;

/** `count` different dead ports (see toolchain's freePorts). */
export const deadPorts = freePorts;

/** A loopback server that accepts connections and never answers, like a hung server. */
export async function blackHole(): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
