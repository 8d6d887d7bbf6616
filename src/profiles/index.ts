/** Customer profiles: the schema, the store interface and its implementations (memory, Redis), the cache and its invalidation, NDJSON import. */
export { CachedProfileStore } from './cache.js';
export { loadProfileFile } from './load.js';
export { MemoryProfileStore } from './memory.js';
export { listenForInvalidations, type InvalidationTarget } from './invalidations.js';
export { importProfileLines, parseProfileLines, type ImportReport } from './ndjson.js';
export { RedisProfileStore } from './redis.js';
export { Profile, type LifecyclePhase, type ValueSegment } from './schema.js';
export type { ProfileStore } from './store.js';
