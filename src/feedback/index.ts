/** Feedback from customers: response events and their idempotent intake, the loop that feeds learning and the report tallies from them, and the spool that carries what a stop could not write to the next start. */

export { KPI_OUTCOMES, type KpiReport, Kpis, type Tallies } from './kpis.js';
export { cellsFromTotals, FeedbackLoop } from './loop.js';
export {
  MAX_EVENTS,
  type RecordResult,
  ResponseBatchSchema,
  type ResponseEventInput,
  ResponseEventSchema,
} from './schema.js';
export {
  type ResponseReceipt,
  ResponseService,
  type ResponseServiceOptions,
  type StoredResponse,
  type UnwrittenResponse,
} from './service.js';
export { Spool, type SpoolContents, spooled } from './spool.js';
