import type { Redis } from 'ioredis';

/** Commands a Redis server has served, from its own counter (INFO's total_commands_processed). */
export async function redisCommandsServed(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  const total = /^total_commands_processed:(\d+)/m.exec(info)?.[1];
  if (total === undefined) throw new Error('INFO stats has no total_commands_processed');
  return Number(total);
}
