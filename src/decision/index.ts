/** Decisions: the synchronous engine over a rule-set snapshot, its explanation, and the service around it. */
export { decide, type Outcome } from './decide.js';
export { explain, type OfferExplanation } from './explain.js';
export { noDecisionLog, type DecisionLog } from './log.js';
export { priorPropensity, type PropensityModel } from './propensity.js';
export { decisionLogFields, RedisDecisionLog } from './redis-log.js';
export { DecisionService, type DecisionResponse } from './service.js';
export type { Decision, DecisionRequest, RankedOffer } from './types.js';
