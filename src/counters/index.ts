/** Totals that only grow (learning counts, report tallies): the Counters interface, its memory and Redis implementations. */
export { MemoryCounters } from './memory.js';
export { RedisCounters } from './redis.js';
export type { CounterBacklog, Counters, Tally } from './store.js';
