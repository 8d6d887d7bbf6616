/** Decisions: arms, the synchronous engine over a rule-set snapshot with contact policy, its explanation, and the service around it. */
export { assignArm, bucket, type Arm, type Assignment } from './assign.js';
export { decide, type Outcome } from './decide.js';
export { explain, type OfferExplanation } from './explain.js';
export { PolicyView, presentedAs, suppressedBy } from './policy.js';
export { Arms, type Challenger } from './arms.js';
export { DecisionService, type DecisionResponse, type DecisionServiceOptions } from './service.js';
export type { Decision, DecisionRequest, RankedOffer } from './types.js';
