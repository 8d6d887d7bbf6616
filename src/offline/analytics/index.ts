/** Customer-value analytics from transactions: the streaming per-customer reader, value segments, the portfolio (flows, retention, duration, CLV), the BG/NBD churn model and the profiles built from them. */
export { churnScore, DEFAULT_BG_NBD_PARAMETERS, expectedPurchases, fitBgNbd, probabilityAlive, type BgNbdParameters, type RecencyFrequency } from './churn.js';
export { buildProfiles, DEFAULT_PHASES, phaseOf, recencyFrequency, type BuildSettings, type BuiltProfiles, type PhaseSettings } from './profiles.js';
export { customerFlows, durationYears, MAX_DURATION_YEARS, portfolio, segmentRetention, type Flows, type Portfolio, type SegmentRow } from './portfolio.js';
export { rankIntoSegments, segmentSizes } from './segments.js';
export { DAY_MS, endOfDay, formatDay, parseTimestamp } from './timestamps.js';
export { checkTransaction, Transaction, type CheckedTransaction } from './transaction.js';
export {
  HistoryReader, readHistories, readHistoriesFromStream, RejectedLinesError,
  type CustomerHistory, type HistoryReport, type LineError, type ReadOptions,
} from './transactions.js';
