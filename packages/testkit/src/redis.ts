import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { redisRoleFlags } from '@mela/topology';
import { deadPort } from './network.js';
import { stopChild } from '@mela/toolchain';

/** A real redis-server of the test's own, which the test may kill and start again. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the server vanishes as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on the loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a private Redis (Debian's redis-server, as the devstack installs it) on a free port,
 * for tests that take Redis down without disturbing the shared one other tests use.
 */
export async function startOwnRedis(
  options: {
    /** Like the carts' Redis: every write in the append-only file before it is acknowledged. */
    readonly durable?: boolean;
  } = {},
): Promise<OwnRedis> {
  const port = await deadPort();
  const dir = mkdtempSync(join(tmpdir(), 'mela-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...redisRoleFlags[options.durable ? 'carts' : 'cache'],
        '--dir',
        dir,
      ],
      {
        stdio: 'ignore',
      },
    );
    for (let wait = 10; !(await listening(port)); wait = Math.min(wait * 2, 200)) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      await delay(wait);
    }
  };
  const kill = () => stopChild(child, 'SIGKILL');
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
