import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Scored } from '../../src/decision/arbitrate.js';
import { shuffledIn } from '../../src/decision/decide.js';

const GROUPS = ['develop', 'care', 'save', 'service'] as const;
const scored = (groups: readonly string[]) =>
  groups.map(
    (group, i) => ({ offer: { id: `o${i}`, group }, parts: { score: groups.length - i } }) as unknown as Scored,
  );

describe("the control group's order", () => {
  it('moves only the held-out offers, among their own places, and loses none', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...GROUPS), { maxLength: 30 }),
        fc.subarray([...GROUPS]),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 30, maxLength: 30 }),
        (groups, heldOut, draws) => {
          const input = scored(groups);
          let d = 0;
          const out = shuffledIn(input, new Set(heldOut), () => draws[d++ % draws.length]!);
          expect(out.map((s) => s.offer.id).sort()).toEqual(input.map((s) => s.offer.id).sort());
          out.forEach((s, i) => {
            // a place keeps its kind; an offer not held out keeps its very place
            expect(heldOut.includes(s.offer.group as never)).toBe(heldOut.includes(input[i]!.offer.group as never));
            if (!heldOut.includes(input[i]!.offer.group as never)) expect(s).toBe(input[i]);
          });
        },
      ),
    );
  });

  it('draws every order of the held-out offers about equally often', () => {
    const input = scored(['save', 'develop', 'care', 'service', 'develop']);
    const seen = new Map<string, number>();
    let x = 7;
    const random = () => {
      x = (x * 48271) % 2147483647;
      return x / 2147483647;
    };
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      const key = shuffledIn(input, new Set(['develop', 'care']), random)
        .map((s) => s.offer.id)
        .join(',');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // 3 held-out offers: 3! = 6 orders, each ≈ n / 6 (± 5 standard deviations)
    expect(seen.size).toBe(6);
    const sd = Math.sqrt((n * (1 / 6) * 5) / 6);
    for (const count of seen.values()) expect(Math.abs(count - n / 6)).toBeLessThan(5 * sd);
    for (const key of seen.keys()) expect(key.split(',')[0]).toBe('o0');
  });
});
