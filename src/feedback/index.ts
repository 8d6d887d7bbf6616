/** Feedback from customers: response events and their idempotent intake, and the loop that feeds learning and the report tallies from them. */

export { KPI_OUTCOMES, type KpiReport, Kpis, type Tallies } from './kpis.js';
export { cellsFromTotals, FeedbackLoop } from './loop.js';
export {
  MAX_EVENTS,
  type RecordResult,
  ResponseBatchSchema,
  type ResponseEventInput,
  ResponseEventSchema,
} from './schema.js';
export { type ResponseReceipt, ResponseService, type ResponseServiceOptions } from './service.js';
