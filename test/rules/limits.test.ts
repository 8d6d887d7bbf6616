import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_RULE_LIMITS, loadRuleSet } from '../../src/rules/load.js';
import { testApp } from '../support/app.js';
import { run } from '../support/process.js';
import { rulesCopy, SHIPPED_RULES } from '../support/rules.js';

/** An offer file of about `bytes` more than a shipped one: padded with a key the schema would refuse, were it read. */
async function bigOffer(dir: string, bytes: number): Promise<string> {
  const base = JSON.parse(await readFile(join(SHIPPED_RULES, 'offers', 'anti-churn-early-renewal.json'), 'utf8'));
  const file = join(dir, 'offers', 'zz-big.json');
  await writeFile(file, JSON.stringify({ ...base, id: 'zz-big', padding: 'x'.repeat(bytes) }));
  return file;
}

describe('rule-set limits, checked before parsing', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const copy = async () => {
    const d = await rulesCopy();
    dirs.push(d);
    return d;
  };

  it('refuse a file over its limit, naming the file and the limit', async () => {
    const dir = await copy();
    await bigOffer(dir, 200_000);
    const loaded = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, fileBytes: 100_000 });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const error = loaded.errors.find((e) => e.file === 'offers/zz-big.json')!;
    expect(error.message).toMatch(/^the file is 0\.2 MB, over the limit of 0\.1 MB a file \(RULES_MAX_FILE_MB\)$/);
    // refused unread: the padding (an unknown key) would otherwise be an error of its own
    expect(loaded.errors.some((e) => /padding/.test(e.message))).toBe(false);
  });

  it('refuse a set over its limit, and a set of more offers than allowed', async () => {
    const dir = await copy();
    const bySize = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, setBytes: 30_000 });
    expect(bySize.ok).toBe(false);
    if (!bySize.ok)
      expect(bySize.errors.map((e) => e.message).join('\n')).toMatch(/over its limit \(RULES_MAX_SET_MB\)/);
    const byCount = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, offers: 10 });
    expect(byCount.ok).toBe(false);
    if (!byCount.ok)
      expect(byCount.errors).toEqual([
        expect.objectContaining({
          file: 'offers',
          message: '37 offers, over the limit of 10 a rule set (RULES_MAX_OFFERS)',
        }),
      ]);
    // the shipped set is well within the defaults
    expect((await loadRuleSet(dir)).ok).toBe(true);
  });

  it('refuse an offer of more conditions than allowed, and a set of more in all, before the schema reads them', async () => {
    const dir = await copy();
    const base = JSON.parse(await readFile(join(SHIPPED_RULES, 'offers', 'anti-churn-early-renewal.json'), 'utf8'));
    const leaf = (n: number) => ({ fact: 'clv', operator: 'greaterThan', value: n });
    // 12 conditions in nested groups, one of them invalid: the count comes first
    const eligibility = {
      all: [leaf(1), { any: [leaf(2), leaf(3), { not: leaf(4) }] }, ...[5, 6, 7, 8, 9, 10, 11].map(leaf)],
    };
    eligibility.all.push({ fact: 'clv', operator: 'noSuchOperator', value: 12 });
    await writeFile(join(dir, 'offers', 'zz-many.json'), JSON.stringify({ ...base, id: 'zz-many', eligibility }));
    const perOffer = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, offerConditions: 11 });
    expect(perOffer.ok).toBe(false);
    if (!perOffer.ok)
      expect(perOffer.errors).toEqual([
        expect.objectContaining({
          file: 'offers/zz-many.json',
          path: '/eligibility',
          message: 'eligibility has 12 conditions, over the limit of 11 an offer (RULES_MAX_OFFER_CONDITIONS)',
        }),
      ]);
    // within the offer's limit the schema speaks, about the operator
    const valid = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, offerConditions: 12 });
    expect(valid.ok).toBe(false);
    if (!valid.ok) expect(valid.errors.map((e) => e.path)).toEqual(['/eligibility/all/9/operator']);
    // the shipped offers hold more than 50 conditions together: the offer that passes the set's limit is named, once
    const bySet = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, conditions: 50 });
    expect(bySet.ok).toBe(false);
    if (!bySet.ok) {
      const over = bySet.errors.filter((e) => /RULES_MAX_CONDITIONS/.test(e.message));
      expect(over).toHaveLength(1);
      expect(over[0]!.message).toBe(
        'the rule set passes 50 conditions with this offer, over its limit (RULES_MAX_CONDITIONS)',
      );
    }
  });

  it('nextbest rules validate refuses a 20 MB file naming the limit', async () => {
    const dir = await copy();
    await bigOffer(dir, 20 * 1024 * 1024);
    const started = performance.now();
    const r = await run(['bin/nextbest.js', 'rules', 'validate', dir]);
    const seconds = (performance.now() - started) / 1000;
    expect(r.code).toBe(1);
    // refused from its size: not parsed for minutes (the process's own start is most of it)
    expect(seconds).toBeLessThan(2);
    expect(r.stdout + r.stderr).toMatch(
      /offers\/zz-big\.json:1:1: the file is 20 MB, over the limit of 1 MB a file \(RULES_MAX_FILE_MB\)/,
    );
  });

  it('the service refuses the reload with the file and the limit, and keeps serving the version it had', async () => {
    const dir = await copy();
    const t = await testApp({ RULES_DIR: dir, RULES_MAX_FILE_MB: '0.1' });
    try {
      const before = t.services.rules.active!.version;
      await bigOffer(dir, 200_000);
      const res = await t.app.request('/v1/rulesets/reload', { method: 'POST' });
      expect(res.status).toBe(422);
      const problem = await res.json();
      expect(problem.errors).toContainEqual(
        expect.objectContaining({ file: 'offers/zz-big.json', message: expect.stringMatching(/RULES_MAX_FILE_MB/) }),
      );
      expect(t.services.rules.active!.version).toBe(before);
      expect((await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' })).status).toBe(200);
    } finally {
      await t.services.close();
    }
  });

  it('take their settings from the environment, checked at start', () => {
    const c = loadConfig({
      RULES_MAX_FILE_MB: '2',
      RULES_MAX_SET_MB: '20',
      RULES_MAX_OFFERS: '100',
      RULES_MAX_CONDITIONS: '5000',
      RULES_MAX_OFFER_CONDITIONS: '50',
      RULES_RELOAD_TIMEOUT_MS: '3000',
      RULES_RELOAD_HEAP_MB: '256',
    });
    expect([c.RULES_MAX_FILE_MB, c.RULES_MAX_SET_MB, c.RULES_MAX_OFFERS]).toEqual([2, 20, 100]);
    expect([c.RULES_MAX_CONDITIONS, c.RULES_MAX_OFFER_CONDITIONS]).toEqual([5000, 50]);
    expect([c.RULES_RELOAD_TIMEOUT_MS, c.RULES_RELOAD_HEAP_MB]).toEqual([3000, 256]);
    expect(loadConfig({})).toMatchObject({
      RULES_MAX_CONDITIONS: 100_000,
      RULES_MAX_OFFER_CONDITIONS: 1_000,
      RULES_RELOAD_TIMEOUT_MS: 10_000,
      RULES_RELOAD_HEAP_MB: 512,
    });
    for (const env of [
      { RULES_MAX_OFFERS: '0' },
      { RULES_MAX_FILE_MB: '-1' },
      { RULES_MAX_SET_MB: 'lots' },
      { RULES_MAX_CONDITIONS: '0' },
      { RULES_RELOAD_TIMEOUT_MS: '10' },
      { RULES_RELOAD_HEAP_MB: '1' },
    ])
      expect(() => loadConfig(env)).toThrow(new RegExp(Object.keys(env)[0]!));
  });
});
