/** Feedback from customers: response events and their idempotent intake, learned propensities, report tallies. */
export { MAX_EVENTS, ResponseBatchSchema, ResponseEventSchema, type RecordResult, type ResponseEventInput } from './schema.js';
export { MemoryCounters, type Counters } from './counters.js';
export { KPI_OUTCOMES, Kpis, type KpiReport, type Tallies } from './kpis.js';
export { cellsFromTotals, FeedbackLoop } from './loop.js';
export { RedisCounters } from './redis-counters.js';
export { ResponseService, type ResponseReceipt, type ResponseServiceOptions } from './service.js';
