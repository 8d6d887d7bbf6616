import { loadRuleSet } from '../../src/rules/load.js';
import { formatIssue } from '../../src/rules/positions.js';
import { compileRuleSet, type RuleSet } from '../../src/rules/ruleset.js';

export const SHIPPED_RULES = new URL('../../rules', import.meta.url).pathname;

export async function shippedRuleSet(dir = SHIPPED_RULES): Promise<RuleSet> {
  const loaded = await loadRuleSet(dir);
  if (!loaded.ok) throw new Error(`rule set ${dir} is invalid:\n${loaded.errors.map(formatIssue).join('\n')}`);
  return compileRuleSet(loaded.source);
}
