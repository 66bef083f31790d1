import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** Commands a Redis server has served, from its own counter (INFO's total_commands_processed). */
export async function redisCommandsServed(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  const total = /^total_commands_processed:(\d+)/m.exec(info)?.[1];
  if (total === undefined) throw new Error('INFO stats has no total_commands_processed');
  return Number(total);
}

/**
 * Connections the kernel dropped because a listener's accept queue was full (TcpExt
 * ListenOverflows in /proc/net/netstat, this network namespace): each such client resends its
 * handshake after a second.
 */
export function listenOverflows(): number {
  // Two TcpExt lines: the counters' names, then their values.
  const [names = [], values = []] = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('TcpExt:'))
    .map((line) => line.split(/\s+/));
  const at = names.indexOf('ListenOverflows');
  if (at === -1 || values[at] === undefined)
    throw new Error('/proc/net/netstat has no ListenOverflows');
  return Number(values[at]);
}
