export { cartsConnection } from './connection.js';
export { defaultCartTtlSeconds, RedisCartStore } from './cart-store.js';
export { cartsConfigFrom, cartsEnv } from './config.js';
