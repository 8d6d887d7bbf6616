/** Decisions: arms, the synchronous engine over a rule-set snapshot with contact policy, its explanation, and the service around it. */

export { Arms, armOf, type Challenger } from './arms.js';
export { type Arm, type Assignment, assignArm, bucket } from './assign.js';
export { decide, type Outcome } from './decide.js';
export { explain, type OfferExplanation } from './explain.js';
export { explainPast, type PastExplanation, type PastOfferExplanation } from './explain-past.js';
export { PolicyView, presentedAs, suppressedBy } from './policy.js';
export { type DecisionResponse, DecisionService, type DecisionServiceOptions } from './service.js';
export type { Decision, DecisionRequest, RankedOffer } from './types.js';
