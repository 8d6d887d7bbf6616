/** HTTP routes, one file each, plus the API-key check and the problem+json writer. */
export { keyTable, type Needed, requireScope } from './auth.js';
export { AuthFailureBudget, authFailureBudget, authFailureGuard, clientAddress } from './auth-failures.js';
export { registerDecisionLog } from './decision-log.js';
export { registerDecisions } from './decisions.js';
export { registerDocs } from './docs.js';
export { registerFrontEnds } from './front.js';
export { BODY_LIMIT_BYTES, BULK_BODY_LIMIT_BYTES, bodyLimits, browserCors, requestIds } from './guards.js';
export { registerOps } from './ops.js';
export { registerOutbound } from './outbound.js';
export { fromZod, problem, toApiError } from './problem.js';
export { registerProfiles } from './profiles.js';
export { type ImpactReports, registerReports } from './reports.js';
export { registerResponses } from './responses.js';
export { registerRulesets } from './rulesets.js';
export type { AppEnv } from './types.js';
