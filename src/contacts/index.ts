/** Contact history and contact state: the format and its pure operations, the ContactStore interface, its memory and Redis implementations. */
export { MemoryContactStore } from './memory.js';
export { RedisContactStore } from './redis.js';
export {
  applyEvent,
  applyPresented,
  applySent,
  type ContactEvent,
  type ContactState,
  DAY_MS,
  dayOf,
  EMPTY_CONTACTS,
  type OutboundWrite,
  type Presented,
  parseContacts,
  withPresented,
} from './state.js';
export {
  type ContactStore,
  DEDUP_MAX,
  DEDUP_TTL_MS,
  type EarlierRecord,
  fromMark,
  HISTORY_MAX,
  LEARNED_SUCCESS,
  LEARNED_TRIAL,
  type LearningAsk,
  markValue,
  OUTCOMES,
  type Outcome,
  type ResponseEvent,
  successMark,
  trialMark,
  type WriteResult,
} from './store.js';
