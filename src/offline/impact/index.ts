/** The effect of the decisions against the control group: revenue, activity and retention, with intervals. */
export {
  type ArmSummary,
  type CumulativeRevenue,
  type Estimate,
  type GroupImpact,
  ImpactReader,
  type ImpactReport,
  type ImpactWindow,
  MIN_ARM_CUSTOMERS,
} from './impact.js';
export { type ImpactSources, impactReport, ndjsonFiles, readImpact, readLines, UnreachableError } from './read.js';
export { CONFIDENCE, cuped, holm, Moments, minimumDetectableEffect, newcombe, POWER, welch, wilson } from './stats.js';
export { ImpactError, impactInThread } from './threaded.js';
