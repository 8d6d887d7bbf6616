/** Customer profiles: the schema, the store interface and its implementations (memory, Redis), the cache and its invalidation, NDJSON import. */
export { CachedProfileStore } from './cache.js';
export { type InvalidationTarget, listenForInvalidations } from './invalidations.js';
export { loadProfileFile } from './load.js';
export { MemoryProfileStore } from './memory.js';
export { type ImportReport, importProfileLines, parseProfileLines } from './ndjson.js';
export { RedisProfileStore } from './redis.js';
export { type LifecyclePhase, Profile, type ValueSegment } from './schema.js';
export type { ProfileStore } from './store.js';
