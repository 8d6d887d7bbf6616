/** Customer profiles: the schema, the store interface and its implementations, the cache, the demo population. */
export { CachedProfileStore } from './cache.js';
export { generateProfiles, iterateProfiles } from './demo.js';
export { loadProfileFile } from './load.js';
export { MemoryProfileStore } from './memory.js';
export { importProfileLines, parseProfileLines } from './ndjson.js';
export { Profile, type LifecyclePhase, type ValueSegment } from './schema.js';
export type { ProfileStore } from './store.js';
