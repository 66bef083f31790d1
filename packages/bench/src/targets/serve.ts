import { createServer, type RequestListener } from 'node:http';

/**
 * Serves a bench target on a free loopback port, prints `{"port":N}` as its first line of
 * output (what `startPrintingTarget` reads), and closes on SIGTERM. `backlog` is the listen
 * queue's length (Node's default when not given).
 */
export function serveTarget(handler: RequestListener, backlog?: number): void {
  const server = createServer(handler);
  server.listen(
    { port: 0, host: '127.0.0.1', ...(backlog === undefined ? {} : { backlog }) },
    () => {
      process.stdout.write(
        `${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`,
      );
    },
  );
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/** The CPU this process has spent so far, in seconds (a target's `GET /cpu`). */
export function cpuSeconds(): { readonly seconds: number } {
  const { user, system } = process.cpuUsage();
  return { seconds: (user + system) / 1e6 };
}
