/** Feedback from customers: response events and their idempotent intake, the contact-history stores, learned propensities, report tallies. */
export { MAX_EVENTS, OUTCOMES, ResponseBatchSchema, ResponseEventSchema, type Outcome, type RecordResult, type ResponseEvent, type ResponseEventInput } from './schema.js';
export { MemoryCounters, type Counters } from './counters.js';
export { KPI_OUTCOMES, Kpis, type KpiReport, type Tallies } from './kpis.js';
export { cellKey, LearnedPropensity, LearningState, positiveOutcome } from './learning.js';
export { cellsFromTotals, FeedbackLoop } from './loop.js';
export { RedisCounters } from './redis-counters.js';
export { RedisResponseStore } from './redis.js';
export { ResponseService, type ResponseReceipt, type ResponseServiceOptions } from './service.js';
export { DEDUP_MAX, DEDUP_TTL_MS, HISTORY_MAX, MemoryResponseStore, type ResponseStore, type WriteResult } from './store.js';
