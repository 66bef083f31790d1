import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { Health, HttpService, createLogger, type Closer } from '../src/index.js';
import { acceptBacklog, heldBacklog } from '@mela/testkit';
import { keepAlive, listenBacklog } from '@mela/topology';
import { testEnv } from './support.js';

const fixture = fileURLToPath(new URL('./fixtures/slow-service.js', import.meta.url));

/** Runs the fixture service in its own process and follows its JSON log on stdout. */
function spawnService(env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...testEnv({ LOG_LEVEL: 'info', ...env }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.match(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    lines,
    exited,
    /** Resolves on the first log line (past or future) with this message. */
    logged(msg: string): Promise<Record<string, unknown>> {
      const seen = lines.find((line) => line['msg'] === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) =>
        waiters.push({ match: (line) => line['msg'] === msg, resolve }),
      );
    },
  };
}

describe('graceful shutdown on SIGTERM', () => {
  it('when requests are in flight, then they complete, /readyz turns 503 and the process exits 0 within the deadline', async () => {
    const service = spawnService({ SHUTDOWN_DRAIN_DELAY_MS: '1000', SHUTDOWN_TIMEOUT_MS: '5000' });
    const { port } = (await service.logged('listening')) as { port: number };
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    const inFlight = fetch(`${base}/slow?ms=1500`);
    await service.logged('slow request started');
    const signalled = Date.now();
    service.child.kill('SIGTERM');
    await service.logged('shutting down: readiness is off');

    const readiness = await fetch(`${base}/readyz`);
    assert.equal(readiness.status, 503);
    assert.equal(((await readiness.json()) as { status: string }).status, 'shutting_down');

    const slow = await inFlight;
    assert.equal(slow.status, 200);
    assert.deepEqual(await slow.json(), { waited: 1500 });

    const [code] = await service.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - signalled < 1000 + 5000 + 1000, 'exits within drain delay + deadline');
    const closed = service.lines.filter((l) => l['msg'] === 'closed').map((l) => l['client']);
    assert.deepEqual(closed, ['first-client', 'second-client']);
    assert.deepEqual(
      {
        ...(await service.logged('stopped')),
        level: undefined,
        time: undefined,
        pid: undefined,
        hostname: undefined,
        service: undefined,
        msg: undefined,
      },
      {
        clean: true,
        abortedRequests: 0,
        failedClosers: [],
        level: undefined,
        time: undefined,
        pid: undefined,
        hostname: undefined,
        service: undefined,
        msg: undefined,
      },
    );
  });

  it('when a request outlives the deadline, then it is cut and the process exits 1', async () => {
    const service = spawnService({ SHUTDOWN_TIMEOUT_MS: '300' });
    const { port } = (await service.logged('listening')) as { port: number };

    const stuck = fetch(`http://127.0.0.1:${port}/slow?ms=20000`).then(
      (res) => res.status,
      () => 'connection cut',
    );
    await service.logged('slow request started');
    service.child.kill('SIGTERM');

    assert.equal(await stuck, 'connection cut');
    const [code] = await service.exited;
    assert.equal(code, 1);
    assert.equal((await service.logged('stopped'))['abortedRequests'], 1);
  });
});

/** A service on a free loopback port that answers "ok" and logs nothing. */
function quietService(health: Health, closers: readonly Closer[]): HttpService {
  return new HttpService({
    handler: (_req, res) => res.end('ok'),
    health,
    logger: createLogger({ service: 'test', level: 'silent' }),
    port: 0,
    host: '127.0.0.1',
    closers,
  });
}

describe('HttpService.stop()', () => {
  it('when called twice, then the second call returns the same outcome and clients close once, in order', async () => {
    const closed: string[] = [];
    const health = new Health({ timeoutMs: 100 });
    const service = quietService(health, [
      {
        name: 'kafka',
        close: async () => {
          await delay(5);
          closed.push('kafka');
        },
      },
      {
        name: 'redis',
        close: () => {
          closed.push('redis');
          return undefined;
        },
      },
      {
        name: 'mysql',
        close: () => {
          closed.push('mysql');
          return Promise.resolve();
        },
      },
    ]);
    await service.start();

    const [first, second] = await Promise.all([service.stop(), service.stop()]);
    const third = await service.stop();

    assert.equal(first, second);
    assert.equal(first, third);
    assert.deepEqual(closed, ['kafka', 'redis', 'mysql']);
    assert.equal(health.shuttingDown, true);
  });

  it('when a client fails to close, then the others still close and the outcome is not clean', async () => {
    const closed: string[] = [];
    const service = quietService(new Health({ timeoutMs: 100 }), [
      { name: 'broken', close: () => Promise.reject(new Error('socket hang up')) },
      {
        name: 'mysql',
        close: () => {
          closed.push('mysql');
          return Promise.resolve();
        },
      },
    ]);
    await service.start();

    const result = await service.stop();

    assert.deepEqual(result, { clean: false, abortedRequests: 0, failedClosers: ['broken'] });
    assert.deepEqual(closed, ['mysql']);
  });
});

describe('keep-alive between the edge and a replica', () => {
  it('when a caller keeps a connection idle, then the replica keeps it open longer than any caller may', async () => {
    const service = quietService(new Health({ timeoutMs: 100 }), []);
    const { port } = await service.start();
    try {
      const response = await fetch(`http://127.0.0.1:${String(port)}/`);
      await response.text();
      // Node's default (5 s) closed connections nginx still held and wrote a checkout onto.
      const idle = /^timeout=(\d+)$/.exec(response.headers.get('keep-alive') ?? '')?.[1];
      assert.ok(Number(idle) > keepAlive.callerIdleSeconds, `Keep-Alive: timeout=${String(idle)}`);
    } finally {
      await service.stop();
    }
  });
});

describe('a burst of new connections', () => {
  it("when a service listens, then the kernel holds up to listenBacklog waiting connections, not Node's 511", async () => {
    const service = quietService(new Health({ timeoutMs: 100 }), []);
    const { port } = await service.start();
    try {
      // Past the backlog a handshake is dropped and resent a second later: a flash sale's p99.
      const held = acceptBacklog(port);
      assert.equal(held, heldBacklog(listenBacklog));
      assert.ok(held > 511, `backlog ${String(held)}`);
    } finally {
      await service.stop();
    }
  });
});
