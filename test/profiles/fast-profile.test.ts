import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { fastProfile } from '../../src/profiles/fast-profile.js';
import { Profile } from '../../src/profiles/schema.js';

const name = fc.oneof(fc.constantFrom('', 'mobile', 'x'.repeat(64), 'x'.repeat(65)), fc.string({ maxLength: 70 }));
const key = fc.oneof(
  fc.constantFrom('plan', '_a', 'b_2', '__proto__', 'constructor', 'prototype', '9z', 'a-b', ''),
  fc.string({ maxLength: 70 }),
);
const scalar = fc.oneof(
  fc.constantFrom('x'.repeat(512), 'x'.repeat(513)),
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue(),
);
const number = fc.oneof(
  fc.double(),
  fc.integer({ min: -3, max: 12 }),
  fc.constantFrom(0, -0, 1, 0.5, 1.0000001, 2 ** 53, 2 ** 53 - 1),
  fc.string({ maxLength: 3 }),
);
const profile = fc.record(
  {
    customerId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,130}$/), fc.string(), fc.integer()),
    valueSegment: fc.oneof(fc.constantFrom('super', 'top', 'middle', 'bottom', 'Top', ''), fc.string({ maxLength: 8 })),
    lifecyclePhase: fc.oneof(
      fc.constantFrom('new', 'loyalty', 'retain', 'regain', 'gone'),
      fc.string({ maxLength: 8 }),
    ),
    clv: number,
    churnScore: number,
    npsScore: number,
    tenureDays: number,
    annualRevenue: number,
    productsHeld: fc.oneof(fc.array(name, { maxLength: 102 }), fc.jsonValue()),
    consents: fc.oneof(fc.array(name, { maxLength: 22 }), fc.jsonValue()),
    attributes: fc.oneof(fc.dictionary(key, scalar, { maxKeys: 66 }), fc.jsonValue()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
// mostly valid, so the accepting side is well tried too
const nearlyValid = fc.record({
  customerId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,129}$/),
  valueSegment: fc.constantFrom('super', 'top', 'middle', 'bottom'),
  lifecyclePhase: fc.constantFrom('new', 'loyalty', 'retain', 'regain'),
  clv: fc.oneof(fc.double({ min: -1, max: 1e6, noNaN: true }), fc.constantFrom(0, -0, -0.001, 1e-9)),
  churnScore: fc.oneof(
    fc.double({ min: -0.1, max: 1.1, noNaN: true }),
    fc.constantFrom(0, -0, 1, 1.01, 1.0000001, -0.001),
  ),
  npsScore: fc.option(fc.oneof(fc.integer({ min: -1, max: 11 }), fc.double({ min: 0, max: 10 }), fc.constant(null)), {
    nil: undefined,
  }),
  tenureDays: fc.option(
    fc.oneof(fc.integer({ min: -1, max: 5000 }), fc.double({ min: 0, max: 10 }), fc.constant(null)),
    { nil: undefined },
  ),
  annualRevenue: fc.option(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(null)), {
    nil: undefined,
  }),
  productsHeld: fc.option(fc.oneof(fc.array(name, { maxLength: 5 }), fc.constant(null)), { nil: undefined }),
  consents: fc.option(
    fc.oneof(fc.array(fc.constantFrom('web', 'email', 'call-center', ''), { maxLength: 4 }), fc.constant(null)),
    { nil: undefined },
  ),
  attributes: fc.option(fc.oneof(fc.dictionary(key, scalar, { maxKeys: 5 }), fc.constant(null)), { nil: undefined }),
});
const manyAttributes = fc.integer({ min: 62, max: 66 }).map((n) => ({
  customerId: 'C1',
  valueSegment: 'top',
  lifecyclePhase: 'new',
  clv: 1,
  churnScore: 0,
  attributes: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
}));
// the shape an NDJSON line has: plain objects, through the parser
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('the fast profile check', () => {
  it('accepts only what the Profile schema accepts, and returns the same value', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(profile, fc.jsonValue(), nearlyValid, manyAttributes), (raw) => {
        const data = asJson(raw);
        const fast = fastProfile(data);
        if (fast === undefined) return;
        accepted++;
        const zod = Profile.safeParse(data);
        expect(zod.success).toBe(true);
        expect(fast).toStrictEqual(zod.data);
        expect(Object.keys(fast)).toEqual(Object.keys(zod.data!));
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(300);
  });

  it('accepts the demo population, as zod reads it', () => {
    for (const p of generateProfiles({ customers: 500, seed: 7 })) {
      const data = asJson(p);
      expect(fastProfile(data)).toStrictEqual(Profile.parse(data));
    }
  });

  it('leaves a forbidden key to zod, which drops it', () => {
    const line =
      '{"customerId":"C1","valueSegment":"top","lifecyclePhase":"new","clv":1,"churnScore":0,"attributes":{"__proto__":{"x":1}}}';
    expect(fastProfile(JSON.parse(line))).toBeUndefined();
    const { attributes } = Profile.parse(JSON.parse(line));
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual([]);
  });
});
