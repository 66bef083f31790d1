import { mkdirSync } from 'node:fs';
import type { Dependency } from './dependency.js';
import { paths } from '@mela/toolchain';
import {
  assertPortsFree,
  isListening,
  progress,
  runningPid,
  startDetached,
  stopProcess,
  until,
} from '@mela/toolchain';
import { redisPort, redisRoleFlags, type LocalTopology, type RedisRole } from '@mela/topology';

/**
 * redis-server's arguments for a role on this machine: its port and data directory, the
 * password, and the role's persistence and eviction (`redisRoleFlags`).
 */
export function redisArguments(topology: LocalTopology, role: RedisRole, dir: string): string[] {
  return [
    '--port',
    String(redisPort(topology, role)),
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
    ...redisRoleFlags[role],
  ];
}

/** A Redis from Debian's package for one role, its data in `.mela/data/<name>`. */
export function redisDependency(topology: LocalTopology, role: RedisRole = 'cache'): Dependency {
  const name = role === 'cache' ? 'redis' : 'redis-carts';
  const port = redisPort(topology, role);
  const endpoint = `redis://${topology.host}:${String(port)} (${role})`;
  const variable = role === 'cache' ? 'MELA_REDIS_PORT' : 'MELA_CART_REDIS_PORT';
  return {
    name,
    async up() {
      if (runningPid(name) !== undefined && (await isListening(port, topology.host))) return;
      await assertPortsFree(
        [{ host: topology.host, port, what: `Redis (${role})` }],
        `move it with ${variable}`,
      );
      const dir = paths.data(name);
      mkdirSync(dir, { recursive: true });
      progress(`starting Redis (${role}) on ${topology.host}:${String(port)}`);
      startDetached(name, 'redis-server', redisArguments(topology, role, dir));
      await until(() => isListening(port, topology.host), `Redis (${role})`, 10_000, {
        logFile: paths.log(name),
      });
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
