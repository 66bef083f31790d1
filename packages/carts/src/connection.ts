import { Redis, type RedisOptions } from 'ioredis';

/**
 * The connection carts are read through: the service's `shared` one when the carts are kept in
 * that Redis too, else one of their own with the same options (`own`: the caller then checks it
 * for readiness and closes it).
 */
export function cartsConnection(
  redisUrl: string,
  shared: { readonly url: string; readonly redis: Redis; readonly options: RedisOptions },
  onError: (error: Error) => void,
): { readonly redis: Redis; readonly own: boolean } {
  if (redisUrl === shared.url) return { redis: shared.redis, own: false };
  const redis = new Redis(redisUrl, shared.options);
  redis.on('error', onError);
  return { redis, own: true };
}
