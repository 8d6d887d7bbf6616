/** Requests per API key per rate-limit window: the WindowCounts interface, its memory and Redis implementations. */
export { MemoryWindowCounts } from './memory.js';
export { RedisWindowCounts } from './redis.js';
export { RATE_WINDOW_MS, type WindowCounts } from './store.js';
