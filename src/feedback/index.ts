/** Feedback from customers: response events, their idempotent intake and buffer, the contact-history stores. */
export { MAX_EVENTS, OUTCOMES, ResponseBatchSchema, ResponseEventSchema, type Outcome, type RecordResult, type ResponseEvent, type ResponseEventInput } from './schema.js';
export { RedisResponseStore } from './redis.js';
export { ResponseService, type ResponseReceipt } from './service.js';
export { DEDUP_MAX, DEDUP_TTL_MS, HISTORY_MAX, MemoryResponseStore, type ResponseStore, type WriteResult } from './store.js';
