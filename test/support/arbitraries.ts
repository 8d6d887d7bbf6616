import fc from 'fast-check';
import type { DecisionRequest } from '../../src/decision/types.js';
import { PRODUCTS } from '../../src/offline/demo/profiles.js';
import { LIFECYCLE_PHASES, type Profile, VALUE_SEGMENTS } from '../../src/profiles/schema.js';
import { type Condition, FACT_NAMES, OPERATORS } from '../../src/rules/schema.js';

const CONSENTS = ['web', 'call-center', 'email', 'sms'] as const;
const INTENTS = ['cancel', 'billing', 'upgrade', 'technical', 'moving', 'general'] as const;

/** Attribute values of the right and of the wrong type, to exercise the operators' type checks. */
const attributeValue = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.boolean(),
  fc.constantFrom('5', '', 'x', '0.5', 'north'),
);

export const profileArb: fc.Arbitrary<Profile> = fc.record(
  {
    customerId: fc.stringMatching(/^C[0-9]{7}$/),
    valueSegment: fc.constantFrom(...VALUE_SEGMENTS),
    lifecyclePhase: fc.constantFrom(...LIFECYCLE_PHASES),
    clv: fc.double({ min: 0, max: 50_000, noNaN: true }),
    churnScore: fc.double({ min: 0, max: 1, noNaN: true }),
    npsScore: fc.integer({ min: 0, max: 10 }),
    tenureDays: fc.integer({ min: 0, max: 6000 }),
    annualRevenue: fc.double({ min: -100, max: 10_000, noNaN: true }),
    productsHeld: fc.subarray([...PRODUCTS]),
    consents: fc.subarray([...CONSENTS]),
    attributes: fc.dictionary(
      fc.constantFrom('contractMonthsLeft', 'paymentLate', 'appUser', 'dataUsagePct', 'region'),
      attributeValue,
      { noNullPrototype: true },
    ),
  },
  {
    requiredKeys: [
      'customerId',
      'valueSegment',
      'lifecyclePhase',
      'clv',
      'churnScore',
      'tenureDays',
      'annualRevenue',
      'productsHeld',
      'consents',
      'attributes',
    ],
  },
);

export const requestArb = (channels: readonly string[]): fc.Arbitrary<DecisionRequest> =>
  fc.record(
    {
      customerId: fc.constant('C0000001'),
      channel: fc.constantFrom(...channels),
      placement: fc.constantFrom('tips-for-you', 'account-home', 'checkout'),
      context: fc.dictionary(
        fc.constantFrom('intent', 'reason', 'device'),
        fc.oneof(fc.constantFrom(...INTENTS), fc.integer({ min: 0, max: 3 }), fc.boolean()),
        { noNullPrototype: true },
      ),
    },
    { requiredKeys: ['customerId', 'channel'] },
  );

const leafValue = fc.oneof(
  fc.integer({ min: -2, max: 1000 }),
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.constantFrom('new', 'loyalty', 'retain', 'super', 'top', 'bottom', 'fibre', 'web', 'cancel', '5'),
  fc.boolean(),
  fc.constant(null),
);

/** Any valid leaf condition over the known facts, with and without paths. */
const leafArb: fc.Arbitrary<Condition> = fc
  .record({
    fact: fc.constantFrom(...FACT_NAMES),
    operator: fc.constantFrom(...OPERATORS),
    path: fc.option(
      fc.constantFrom(
        '$.intent',
        '$.contractMonthsLeft',
        '$.paymentLate',
        '$.a.b',
        '$.length',
        '$.region.length',
        '$.intent.length',
      ),
      { nil: undefined },
    ),
    scalar: leafValue,
    list: fc.array(leafValue, { maxLength: 4 }),
    number: fc.oneof(fc.integer({ min: -2, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true })),
  })
  .map(({ fact, operator, path, scalar, list, number }) => {
    const value = operator === 'in' || operator === 'notIn' ? list : operator.includes('Than') ? number : scalar;
    return path === undefined ? { fact, operator, value } : { fact, operator, value, path };
  });

export const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((all) => ({ all })),
    fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((any) => ({ any })),
    tie('node').map((not) => ({ not })),
  ),
})).node;
