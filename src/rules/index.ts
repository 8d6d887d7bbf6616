/** Rule sets: read and validate a folder, compile it to an immutable snapshot, hold the active version. */

export { type AuditEntry, type AuditSink, AuditTrail } from './audit.js';
export {
  type CompiledJourney,
  type CompiledOutbound,
  type CompiledOutboundChannel,
  type CompiledStep,
  compileJourney,
  compileOutbound,
} from './journeys.js';
export { ruleSchemas } from './json-schema.js';
export {
  DEFAULT_RULE_LIMITS,
  type LoadResult,
  loadRuleSet,
  type RuleLimits,
  type RuleSetSource,
} from './load.js';
export { type ChangeResult, RuleSetManager, summarize } from './manager.js';
export {
  type CompiledPolicy,
  type CompiledPolicyRule,
  type CountedAs,
  compilePolicy,
  type SuppressionTrigger,
} from './policy.js';
export { formatIssue, logWarnings, type RuleIssue } from './positions.js';
export { type ConditionTrace, evaluateReference } from './reference.js';
export { RuleSetRegistry } from './registry.js';
export { type CompiledOffer, compileRuleSet, type RuleSet, versionOf } from './ruleset.js';
