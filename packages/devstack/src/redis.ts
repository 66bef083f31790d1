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

/**
 * What a local Redis is for: `cache` holds what may go (the catalog cache, rate-limit counters,
 * the stock gate), `carts` what must not (shoppers' carts).
 */
export type RedisRole = 'cache' | 'carts';

/**
 * redis-server's arguments for a role. Both require the password. The cache evicts the least
 * recently used keys when full (a full cache must never refuse checkout's limiter); carts are
 * written to the append-only file before each write is acknowledged (`appendfsync always`: a
 * crash loses no acknowledged cart) and are never evicted (a full store refuses new writes
 * with an error the cart answers as 503, rather than dropping someone's cart).
 */
export function redisArguments(topology: LocalTopology, role: RedisRole, dir: string): string[] {
  const port = role === 'cache' ? topology.redis.port : topology.redis.cartsPort;
  return [
    '--port',
    String(port),
    '--bind',
    topology.host,
    '--dir',
    dir,
    '--requirepass',
    topology.redis.password,
    '--save',
    '',
    '--maxmemory',
    '512mb',
    ...(role === 'cache'
      ? ['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']
      : ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction']),
  ];
}

/** A Redis from Debian's package for one role, its data in `.mela/data/<name>`. */
export function redisDependency(topology: LocalTopology, role: RedisRole = 'cache'): Dependency {
  const name = role === 'cache' ? 'redis' : 'redis-carts';
  const port = role === 'cache' ? topology.redis.port : topology.redis.cartsPort;
  const endpoint = `redis://${topology.host}:${String(port)} (${role})`;
  const variable = role === 'cache' ? 'MELA_REDIS_PORT' : 'MELA_CART_REDIS_PORT';
  return {
    name,
    async up() {
      if (runningPid(name) !== undefined && (await isListening(port, topology.host))) return;
      if (await isListening(port, topology.host)) {
        throw new Error(`port ${String(port)} is taken by another process; set ${variable}`);
      }
      const dir = paths.data(name);
      mkdirSync(dir, { recursive: true });
      progress(`starting Redis (${role}) on ${topology.host}:${String(port)}`);
      startDetached(name, 'redis-server', redisArguments(topology, role, dir));
      await waitFor(
        `Redis (${role})`,
        () => isListening(port, topology.host),
        10_000,
        paths.log(name),
      );
    },
    async down() {
      if (await stopProcess(name)) progress(`stopped Redis (${role})`);
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
