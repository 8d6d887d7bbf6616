import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULE_LIMITS, loadRuleSet } from '../../src/rules/load.js';
import { loadRuleSetInThread } from '../../src/rules/load-thread.js';
import { compileRuleSet, compileRuleSetInSteps, sourceBytes } from '../../src/rules/ruleset.js';
import { generatedRules, SHIPPED_RULES } from '../support/rules.js';

describe('a rule set read in a thread of its own', () => {
  let big: string;
  beforeAll(async () => {
    big = await generatedRules(4_963);
  }, 60_000);
  afterAll(async () => {
    await rm(big, { recursive: true, force: true });
  });

  it('comes back as the same source, size and errors as read on the spot', async () => {
    const [threaded, direct] = await Promise.all([
      loadRuleSetInThread(SHIPPED_RULES, DEFAULT_RULE_LIMITS),
      loadRuleSet(SHIPPED_RULES),
    ]);
    expect(threaded.ok && direct.ok).toBe(true);
    if (!threaded.ok || !direct.ok) return;
    expect(threaded.source).toEqual(direct.source);
    expect(threaded.bytes).toBe(sourceBytes(direct.source));
    const stepped = await compileRuleSetInSteps(threaded.source, { bytes: threaded.bytes, loadedAt: new Date(0) });
    const whole = compileRuleSet(direct.source, { loadedAt: new Date(0) });
    expect(stepped.version).toBe(whole.version);
    expect(stepped.bytes).toBe(whole.bytes);
    expect([...stepped.policy.countedAs.get('web')!]).toEqual([...whole.policy.countedAs.get('web')!]);
    const broken = await loadRuleSetInThread(SHIPPED_RULES, { ...DEFAULT_RULE_LIMITS, offers: 3 });
    expect(broken).toEqual(await loadRuleSet(SHIPPED_RULES, { ...DEFAULT_RULE_LIMITS, offers: 3 }));
  });

  it('carries 5 000 offers across in full', async () => {
    const loaded = await loadRuleSetInThread(big, DEFAULT_RULE_LIMITS, { timeoutMs: 60_000, heapMb: 512 });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.source.offers).toHaveLength(5_000);
    expect(new Set(loaded.source.offers.map((o) => o.id)).size).toBe(5_000);
  }, 60_000);

  it('is stopped past its time budget, and refused saying so', async () => {
    const loaded = await loadRuleSetInThread(big, DEFAULT_RULE_LIMITS, { timeoutMs: 200, heapMb: 512 });
    expect(loaded).toEqual({
      ok: false,
      errors: [
        expect.objectContaining({
          file: '.',
          message: 'reading and checking the rule set took longer than 0.2 s and was stopped (RULES_RELOAD_TIMEOUT_MS)',
        }),
      ],
      warnings: [],
    });
  });

  it('is stopped past its memory ceiling, and refused saying so', async () => {
    const loaded = await loadRuleSetInThread(big, DEFAULT_RULE_LIMITS, { timeoutMs: 60_000, heapMb: 16 });
    expect(loaded).toEqual({
      ok: false,
      errors: [
        expect.objectContaining({
          message: 'reading and checking the rule set needed more than 16 MB and was stopped (RULES_RELOAD_HEAP_MB)',
        }),
      ],
      warnings: [],
    });
  }, 60_000);
});
