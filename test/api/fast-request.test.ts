import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionRequestSchema } from '../../src/api/decisions.js';
import { fastDecisionRequest } from '../../src/api/fast-request.js';

const key = fc.oneof(
  fc.constantFrom('intent', 'reason', '__proto__', 'constructor', 'x1', '1x', 'a-b', ''),
  fc.string({ maxLength: 70 }),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue(),
);
const body = fc.record(
  {
    customerId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,130}$/), fc.string(), fc.integer()),
    channel: fc.oneof(fc.constantFrom('web', 'call-center', ''), fc.string({ maxLength: 40 }), fc.boolean()),
    placement: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
    context: fc.oneof(fc.dictionary(key, scalar, { maxKeys: 40 }), fc.jsonValue()),
    limit: fc.oneof(fc.integer({ min: -2, max: 25 }), fc.double(), fc.string()),
    explain: fc.oneof(fc.boolean(), fc.integer()),
    interactionId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{0,66}$/), fc.string({ maxLength: 70 }), fc.integer()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
// near the edges of every limit, so both sides of each bound are tried
const edgy = fc.record(
  {
    customerId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,129}$/),
    channel: fc.constantFrom('web', 'call-center', 'x'.repeat(32), 'x'.repeat(33)),
    placement: fc.constantFrom('p', 'x'.repeat(64), 'x'.repeat(65)),
    context: fc.dictionary(
      fc.constantFrom('intent', 'a', 'b_2', '_c', 'constructor', '9z'),
      fc.oneof(fc.constantFrom('x'.repeat(256), 'x'.repeat(257)), fc.integer(), fc.boolean()),
      { maxKeys: 6 },
    ),
    limit: fc.integer({ min: 0, max: 21 }),
    explain: fc.boolean(),
    interactionId: fc.constantFrom('c', 'call-1', 'x'.repeat(64), 'x'.repeat(65), 'a b', ''),
  },
  { requiredKeys: ['customerId', 'channel'] },
);
const manyKeys = fc.integer({ min: 30, max: 34 }).map((n) => ({
  customerId: 'C1',
  channel: 'web',
  context: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
}));
// the shape a JSON body has: plain objects, through the parser
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('the fast decision-request check', () => {
  it('accepts only what zod accepts, and returns the same value', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(body, fc.jsonValue(), edgy, manyKeys), (raw) => {
        const data = asJson(raw);
        const fast = fastDecisionRequest(data);
        if (fast === undefined) return;
        accepted++;
        const zod = DecisionRequestSchema.safeParse(data);
        expect(zod.success).toBe(true);
        expect(fast).toEqual(zod.data);
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  it('accepts the valid requests callers send', () => {
    for (const r of [
      { customerId: 'C0000001', channel: 'web' },
      {
        customerId: 'a.b:c-d_e',
        channel: 'call-center',
        placement: 'panel',
        context: { intent: 'cancel', n: 2, vip: true },
        limit: 20,
        explain: false,
      },
    ])
      expect(fastDecisionRequest(asJson(r))).toEqual(r);
  });
});
