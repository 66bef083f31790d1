import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { redisRoleFlags } from '@mela/topology';
import { deadPort } from './network.js';
import { ownServer } from './own-server.js';
import { isListening, stopChild } from '@mela/toolchain';

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
    for (let wait = 10; !(await isListening(port)); wait = Math.min(wait * 2, 200)) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      await delay(wait);
    }
  };
  const kill = () => stopChild(child, 'SIGKILL');
  const stop = await ownServer(dir, kill, start);
  return { port, url: `redis://127.0.0.1:${port}`, start, kill, stop };
}
