/** Rule sets: read and validate a folder, compile it to an immutable snapshot, hold the active version. */
export { loadRuleSet, type LoadResult, type RuleSetSource } from './load.js';
export { formatIssue, type RuleIssue } from './positions.js';
export { compilePolicy, type CompiledPolicy, type CompiledPolicyRule, type CountedAs } from './policy.js';
export { AuditTrail, type AuditEntry, type AuditSink } from './audit.js';
export { RuleSetManager, summarize, type ChangeResult } from './manager.js';
export { RuleSetRegistry } from './registry.js';
export { compileRuleSet, versionOf, type CompiledOffer, type RuleSet } from './ruleset.js';
export { ruleSchemas } from './json-schema.js';
export { evaluateReference, type ConditionTrace } from './reference.js';
