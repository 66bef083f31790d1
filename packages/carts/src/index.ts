export { defaultCartTtlSeconds, RedisCartStore } from './cart-store.js';
export { cartsEnv } from './config.js';
