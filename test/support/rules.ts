import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuleSet } from '../../src/rules/load.js';
import { formatIssue } from '../../src/rules/positions.js';
import { compileRuleSet, type RuleSet } from '../../src/rules/ruleset.js';

export const SHIPPED_RULES = new URL('../../rules', import.meta.url).pathname;

export async function shippedRuleSet(dir = SHIPPED_RULES): Promise<RuleSet> {
  const loaded = await loadRuleSet(dir);
  if (!loaded.ok) throw new Error(`rule set ${dir} is invalid:\n${loaded.errors.map(formatIssue).join('\n')}`);
  return compileRuleSet(loaded.source);
}

/** A copy of the shipped rules in a temporary folder, with some JSON files changed in place; the caller removes it. */
export async function rulesCopy(
  edit: Record<string, (json: Record<string, any>) => void> = {},
  from = SHIPPED_RULES,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-rules-'));
  await cp(from, dir, { recursive: true });
  for (const [file, change] of Object.entries(edit)) {
    const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, any>;
    change(json);
    await writeFile(join(dir, file), JSON.stringify(json, null, 2));
  }
  return dir;
}
