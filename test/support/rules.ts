import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
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

/**
 * A copy of the shipped rules with `count` more offers, each a shipped offer's copy under a new
 * id (`gen-<n>`), optionally padded with `padding` characters of an unknown key, which the
 * schema refuses: a large set that is valid, or one that is parsed in full and then refused.
 */
export async function generatedRules(count: number, padding = 0): Promise<string> {
  const dir = await rulesCopy();
  const names = (await readdir(join(dir, 'offers'))).filter((n) => n.endsWith('.json')).sort();
  const offers = await Promise.all(
    names.map(async (n) => JSON.parse(await readFile(join(dir, 'offers', n), 'utf8')) as Record<string, unknown>),
  );
  for (let i = 0; i < count; i += 100)
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, k) => {
        const id = `gen-${i + k}`;
        const offer = { ...offers[(i + k) % offers.length], id, fallback: false };
        const body = padding > 0 ? { ...offer, padding: 'x'.repeat(padding) } : offer;
        return writeFile(join(dir, 'offers', `${id}.json`), JSON.stringify(body, null, 2));
      }),
    );
  return dir;
}
