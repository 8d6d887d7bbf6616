/** Redis plumbing shared by the Redis implementations of every store: connections, the deadline and circuit breaker, key names. */
export { closeRedis, connectRedis, describeTarget, redactUrl, whenReady, type RedisClient, type RedisTarget } from './client.js';
export { RedisHealth, type RedisHealths, type RedisLane, type RedisPath, type RedisStatus } from './health.js';
export { RedisKeys } from './keys.js';
