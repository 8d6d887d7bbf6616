/** Feedback from customers: response events and their idempotent intake, the loop that feeds learning and tallies from them, the report tallies. */
export { MAX_EVENTS, ResponseBatchSchema, ResponseEventSchema, type RecordResult, type ResponseEventInput } from './schema.js';
export { KPI_OUTCOMES, Kpis, type KpiReport, type Tallies } from './kpis.js';
export { cellsFromTotals, FeedbackLoop } from './loop.js';
export { ResponseService, type ResponseReceipt, type ResponseServiceOptions } from './service.js';
