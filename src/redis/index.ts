/** Redis plumbing shared by the Redis implementations of every store: connections, the deadline and circuit breaker, key names. */
export {
  closeRedis,
  connectRedis,
  describeTarget,
  type RedisClient,
  type RedisTarget,
  redactUrl,
  whenReady,
} from './client.js';
export { RedisHealth, type RedisHealths, type RedisLane, type RedisPath, type RedisStatus } from './health.js';
export { RedisKeys } from './keys.js';
