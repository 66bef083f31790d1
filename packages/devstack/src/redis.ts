import { mkdirSync } from 'node:fs';
import type { Dependency } from './dependency.js';
import { paths } from './paths.js';
import {
  isListening,
  progress,
  runningPid,
  startDetached,
  stopProcess,
  waitFor,
} from './processes.js';
import type { LocalTopology } from '@mela/topology';

/** Redis from Debian's package: cache, carts, rate-limit counters; no persistence locally. */
export function redisDependency(topology: LocalTopology): Dependency {
  const name = 'redis';
  const { port } = topology.redis;
  const endpoint = `redis://${topology.host}:${port}`;
  return {
    name,
    async up() {
      if (runningPid(name) !== undefined && (await isListening(port, topology.host))) return;
      if (await isListening(port, topology.host)) {
        throw new Error(`port ${port} is taken by another process; set MELA_REDIS_PORT`);
      }
      const dir = paths.data(name);
      mkdirSync(dir, { recursive: true });
      progress(`starting Redis on ${endpoint}`);
      startDetached(name, 'redis-server', [
        '--port',
        String(port),
        '--bind',
        topology.host,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory',
        '512mb',
        '--maxmemory-policy',
        'noeviction',
        // Bound to an address other than loopback (the local cluster's data host, a namespace
        // on a bridge that exists only on this machine), Redis without a password would refuse
        // every client there.
        ...(topology.host.startsWith('127.') ? [] : ['--protected-mode', 'no']),
      ]);
      await waitFor('Redis', () => isListening(port, topology.host), 10_000, paths.log(name));
    },
    async down() {
      if (await stopProcess(name)) progress('stopped Redis');
    },
    async status() {
      const pid = runningPid(name);
      return {
        name,
        endpoint,
        pid,
        running: pid !== undefined && (await isListening(port, topology.host)),
      };
    },
  };
}
