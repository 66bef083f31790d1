import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { keepAlive, listenBacklog } from '@mela/topology';
import type { Health } from './health.js';
import type { PinoLogger } from './logging.js';

/** A client to close on shutdown (Kafka, Redis, MySQL, ...), in the order given. */
export interface Closer {
  readonly name: string;
  close(): unknown;
}

/** Background work (a relay, a sweeper) started once the server listens; stop it with a {@link Closer}. */
export interface Worker {
  readonly name: string;
  start(): void;
}

export interface HttpServiceOptions {
  readonly handler: RequestListener;
  readonly health: Health;
  readonly logger: PinoLogger;
  readonly port: number;
  /** @default '0.0.0.0' */
  readonly host?: string;
  /** Time between readiness going false and the listener closing. @default 0 */
  readonly drainDelayMs?: number;
  /** Time in-flight requests get to finish once the listener is closed. @default 10000 */
  readonly shutdownTimeoutMs?: number;
  /** Closed in order after HTTP has drained; each gets what is left of the deadline. */
  readonly closers?: readonly Closer[];
  /** Started in order after the listener is up. */
  readonly workers?: readonly Worker[];
}

export interface StopResult {
  /** False when requests had to be cut at the deadline or a client failed to close. */
  readonly clean: boolean;
  readonly abortedRequests: number;
  readonly failedClosers: readonly string[];
}

/**
 * An HTTP server with the shutdown a rolling update needs: readiness false first, then stop
 * accepting, let in-flight requests finish within a deadline, then close clients in order.
 */
export class HttpService {
  readonly #options: HttpServiceOptions;
  readonly #server: Server;
  #inFlight = 0;
  #stopping: Promise<StopResult> | undefined;

  constructor(options: HttpServiceOptions) {
    this.#options = options;
    this.#server = createServer(
      {
        // Outlasts the callers' idle timeout, so they close an idle connection first.
        keepAliveTimeout: keepAlive.replicaIdleSeconds * 1000,
      },
      options.handler,
    );
    this.#server.on('request', (_req, res) => {
      this.#inFlight += 1;
      res.once('close', () => {
        this.#inFlight -= 1;
      });
    });
  }

  /** Requests being served right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Listens and resolves the bound address (port 0 picks a free port). */
  async start(): Promise<AddressInfo> {
    const { port, host = '0.0.0.0' } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ port, host, backlog: listenBacklog }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    this.#options.logger.info({ port: address.port, host: address.address }, 'listening');
    for (const worker of this.#options.workers ?? []) worker.start();
    return address;
  }

  /** Drains and closes everything; calling it again returns the same outcome. */
  stop(): Promise<StopResult> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<StopResult> {
    const { health, logger, drainDelayMs = 0, shutdownTimeoutMs = 10_000 } = this.#options;
    health.markShuttingDown();
    logger.info({ drainDelayMs, inFlight: this.#inFlight }, 'shutting down: readiness is off');
    if (drainDelayMs > 0) await delay(drainDelayMs);

    const deadline = Date.now() + shutdownTimeoutMs;
    const abortedRequests = await this.#closeServer(deadline);
    const failedClosers: string[] = [];
    for (const closer of this.#options.closers ?? []) {
      try {
        await withDeadline(Promise.resolve(closer.close()), Math.max(100, deadline - Date.now()));
        logger.info({ client: closer.name }, 'closed');
      } catch (error) {
        failedClosers.push(closer.name);
        logger.error({ err: error, client: closer.name }, 'failed to close');
      }
    }
    const result = {
      clean: abortedRequests === 0 && failedClosers.length === 0,
      abortedRequests,
      failedClosers,
    };
    logger.info(result, 'stopped');
    return result;
  }

  /** Stops accepting, waits for in-flight requests until the deadline, then cuts the rest. */
  async #closeServer(deadline: number): Promise<number> {
    if (!this.#server.listening) return 0;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const idleSweep = setInterval(() => this.#server.closeIdleConnections(), 50);
    // Cancelled once drained: a pending deadline timer would keep the process alive.
    const deadlineTimer = new AbortController();
    try {
      const outcome = await Promise.race([
        closed.then(() => 'drained' as const),
        delay(Math.max(0, deadline - Date.now()), 'deadline' as const, {
          signal: deadlineTimer.signal,
        }),
      ]);
      if (outcome === 'drained') return 0;
      const aborted = this.#inFlight;
      this.#options.logger.warn({ aborted }, 'shutdown deadline reached: cutting connections');
      this.#server.closeAllConnections();
      await closed;
      return aborted;
    } finally {
      clearInterval(idleSweep);
      deadlineTimer.abort();
    }
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  try {
    return await Promise.race([
      work,
      delay(ms, undefined, { signal: controller.signal }).then(() => {
        throw new Error(`did not finish within ${ms} ms`);
      }),
    ]);
  } finally {
    controller.abort();
  }
}

/**
 * Stops the service on SIGTERM or SIGINT and exits: 0 when it drained cleanly, 1 otherwise.
 * A second signal exits at once.
 */
export function stopOnSignals(
  service: { stop(): Promise<StopResult> },
  logger: PinoLogger,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    received = true;
    logger.info({ signal }, 'signal received');
    service.stop().then(
      (result) => {
        exit(result.clean ? 0 : 1);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * A service's life in its own process: starts it, and on SIGTERM or SIGINT drains it, sends
 * the spans still buffered (`tracing`) and exits.
 */
export async function runService(
  app: { readonly service: HttpService; readonly platform: { readonly logger: PinoLogger } },
  tracing: { shutdown(): Promise<void> },
): Promise<void> {
  const { service, platform } = app;
  await service.start();
  stopOnSignals(
    {
      stop: async () => {
        const result = await service.stop();
        await tracing.shutdown().catch((error: unknown) => {
          platform.logger.warn({ err: error }, 'the last spans were not sent');
        });
        return result;
      },
    },
    platform.logger,
  );
}
