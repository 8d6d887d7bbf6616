/** Customer-value analytics from transactions: the streaming per-customer reader, value segments, the portfolio (flows, retention, duration, CLV), the BG/NBD churn model and the profiles built from them. */
export {
  type BgNbdParameters,
  churnScore,
  DEFAULT_BG_NBD_PARAMETERS,
  expectedPurchases,
  fitBgNbd,
  probabilityAlive,
  type RecencyFrequency,
} from './churn.js';
export {
  customerFlows,
  durationYears,
  type Flows,
  MAX_DURATION_YEARS,
  type Portfolio,
  portfolio,
  type SegmentRow,
  segmentRetention,
} from './portfolio.js';
export { formatNumber, formatPercent, portfolioTable } from './portfolio-table.js';
export {
  type BuildSettings,
  type BuiltProfiles,
  buildProfiles,
  DEFAULT_PHASES,
  type PhaseSettings,
  phaseOf,
  recencyFrequency,
} from './profiles.js';
export { rankIntoSegments, segmentSizes } from './segments.js';
export { DAY_MS, endOfDay, formatDay, parseTimestamp } from './timestamps.js';
export { type CheckedTransaction, checkTransaction, Transaction } from './transaction.js';
export {
  type CustomerHistory,
  forEachLine,
  HistoryReader,
  type HistoryReport,
  type LineError,
  type ReadOptions,
  RejectedLinesError,
  readHistories,
  readHistoriesFromStream,
} from './transactions.js';
