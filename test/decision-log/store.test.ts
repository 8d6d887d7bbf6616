import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecisionEntry, recordLine, toRecord } from '../../src/decision-log/store.js';

const text = fc.oneof(
  fc.constantFrom('C0000042', 'call-center', '2026.11.0+8a379543', 'a b'),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e21, 1e-7, 0.1 + 0.2));
const entry: fc.Arbitrary<DecisionEntry> = fc.record({
  decision: fc.record({
    decisionId: text,
    customerId: text,
    channel: text,
    rulesetVersion: text,
    profile: fc.record({ found: fc.boolean(), valueSegment: fc.option(text), lifecyclePhase: fc.option(text) }),
    offers: fc.array(
      fc.record({
        rank: fc.integer({ min: 1, max: 20 }),
        offerId: text,
        group: text,
        score: number,
        propensity: number,
      }),
      { maxLength: 5 },
    ),
    arm: fc.constantFrom('control', 'champion', 'challenger'),
    degraded: fc.boolean(),
  }),
  at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  preview: fc.boolean(),
  interactionId: fc.option(text),
  clv: fc.option(number),
  churnScore: fc.option(number),
});

describe('the decision-log record', () => {
  it('is written line by line exactly as JSON.stringify writes it', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const line = recordLine(e);
        expect(line).toBe(JSON.stringify(toRecord(e)));
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(toRecord(e))));
      }),
      { numRuns: 2_000 },
    );
  });
});
