import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript, no declarations
import { writeCatalogue } from '../../bench/catalogue.js';
import { buildFacts } from '../../src/decision/facts.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { compileRuleSet, loadRuleSet } from '../../src/rules/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nextbest-catalogue-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the benchmark catalogue (bench/catalogue.js)', () => {
  it.each([60, 200])('%i offers: a valid rule set whose variants keep to their segment', async (n) => {
    writeCatalogue(join(dir, String(n)), n);
    const loaded = await loadRuleSet(join(dir, String(n)));
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.warnings.filter((w) => /can never be eligible/.test(w.message))).toEqual([]);
    const rs = compileRuleSet(loaded.source);
    expect(rs.offers).toHaveLength(n);
    const variants = rs.offers.filter((o) => /-v\d+$/.test(o.id));
    expect(variants).toHaveLength(n - 37);
    expect(variants.every((o) => !o.fallback && o.segments?.size === 1)).toBe(true);
    // every variant is reached only through its own segment's slot of the index
    let eligible = 0;
    for (const profile of generateProfiles({ customers: 400, seed: 9 })) {
      for (const channel of ['web', 'call-center']) {
        const facts = buildFacts(profile, { customerId: profile.customerId, channel });
        for (const o of variants) {
          if (!o.eligible(facts)) continue;
          eligible++;
          expect(o.segments!.has(profile.valueSegment)).toBe(true);
          expect(rs.byChannelCell.get(channel)!.get(profile.lifecyclePhase)!.get(profile.valueSegment)).toContain(o);
        }
      }
    }
    expect(eligible).toBeGreaterThan(0);
  });
});
