/** Contact history and contact state: the format and its pure operations, the ContactStore interface, its memory and Redis implementations. */
export { MemoryContactStore } from './memory.js';
export { RedisContactStore } from './redis.js';
export { applyEvent, applyPresented, DAY_MS, dayOf, EMPTY_CONTACTS, parseContacts, withPresented, type ContactEvent, type ContactState, type Presented } from './state.js';
export { DEDUP_MAX, DEDUP_TTL_MS, HISTORY_MAX, OUTCOMES, type ContactStore, type Outcome, type ResponseEvent, type WriteResult } from './store.js';
