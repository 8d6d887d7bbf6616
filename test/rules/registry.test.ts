import { describe, expect, it } from 'vitest';
import { RuleSetRegistry } from '../../src/rules/registry.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { shippedRuleSet } from '../support/rules.js';

/** Versions of the shipped rule set under other names and sizes: what the registry keeps is by name and size. */
async function versions(n: number, bytes: (i: number) => number): Promise<RuleSet[]> {
  const base = await shippedRuleSet();
  return Array.from({ length: n }, (_, i) => ({ ...base, version: `v${i}`, bytes: bytes(i) }));
}
const MB = 1024 * 1024;
const kept = (r: RuleSetRegistry) => r.versions().map((v) => v.version);

describe('the versions kept for rollback', () => {
  it('are the last N, the active one always among them', async () => {
    const r = new RuleSetRegistry({ versions: 3, megabytes: 1000 });
    const all = await versions(8, () => MB);
    r.activate(all[0]!);
    for (const v of all.slice(1)) r.load(v);
    expect(kept(r)).toEqual(['v0', 'v6', 'v7']);
    r.activate(all[7]!);
    expect(r.active?.version).toBe('v7');
  });

  it('weigh at most M megabytes together, however few they are; the active one and the newest stay whatever they weigh', async () => {
    const r = new RuleSetRegistry({ versions: 50, megabytes: 10 });
    const all = await versions(6, (i) => (i + 1) * 2 * MB); // 2, 4, 6, 8, 10, 12 MB
    r.activate(all[0]!);
    for (const v of all.slice(1, 4)) r.load(v);
    // 2 + 4 + 6 + 8 > 10: the oldest but the active go until it fits, or only the protected are left
    expect(kept(r)).toEqual(['v0', 'v3']);
    r.activate(all[5]!);
    expect(kept(r)).toEqual(['v5']);
    expect(r.get('v5')?.bytes).toBe(12 * MB);
  });

  it('never drop a pinned version (the challenger)', async () => {
    const r = new RuleSetRegistry({ versions: 2, megabytes: 3 });
    const all = await versions(5, () => MB);
    r.pin(all[0]!);
    r.activate(all[1]!);
    for (const v of all.slice(2)) r.load(v);
    expect(kept(r)).toContain('v0');
    expect(kept(r)).toContain('v1');
    expect(kept(r)).toContain('v4');
  });

  it('measures a compiled rule set by the JSON of its files', async () => {
    const shipped = await shippedRuleSet();
    expect(shipped.bytes).toBe(Buffer.byteLength(JSON.stringify(shipped.source)));
    expect(shipped.bytes).toBeGreaterThan(10_000);
  });
});
