import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appliedNames, arbitrate } from '../../src/decision/arbitrate.js';
import { decide } from '../../src/decision/decide.js';
import { priorPropensity } from '../../src/learning/model.js';
import { Profile } from '../../src/profiles/schema.js';
import { compileRuleSet } from '../../src/rules/ruleset.js';
import { Arbitration, ContactPolicy, Manifest, Offer } from '../../src/rules/schema.js';

const offer = (id: string, group: string, value: number, prior: number, extra: Record<string, unknown> = {}) =>
  Offer.parse({
    id,
    name: id,
    group,
    value,
    propensity: { web: prior },
    eligibility: { all: [] },
    treatments: { web: { title: id, body: 'b', ctaLabel: 'go', ctaUrl: `/${id}` } },
    ...extra,
  });

const ruleset = (arbitration: unknown, maxOffers = 4) =>
  compileRuleSet({
    manifest: Manifest.parse({ version: 't1', channels: ['web'] }),
    arbitration: Arbitration.parse(arbitration),
    contactPolicy: ContactPolicy.parse({ channels: { web: { maxOffers } } }),
    offers: [
      offer('a-care', 'care', 100, 0.1),
      offer('b-develop', 'develop', 50, 0.3),
      offer('c-service', 'service', 10, 0.5, { fallback: true }),
    ],
    journeys: [],
    hash: '0'.repeat(64),
  });

const profile = Profile.parse({
  customerId: 'X1',
  valueSegment: 'top',
  lifecyclePhase: 'loyalty',
  clv: 1,
  churnScore: 0.1,
});
const run = (
  rs: ReturnType<typeof ruleset>,
  context: Record<string, string> = {},
  p: typeof profile | null = profile,
  limit?: number,
) =>
  decide(
    rs,
    { request: { customerId: 'X1', channel: 'web', context, limit }, profile: p ?? undefined, degraded: false },
    priorPropensity,
  );

describe('arbitration', () => {
  it('scores propensity × value when no weight applies, best first', () => {
    const out = run(ruleset({}));
    expect(out.decision.offers.map((o) => [o.offerId, o.score])).toEqual([
      ['b-develop', 15],
      ['a-care', 10],
      ['c-service', 5],
    ]);
  });

  it('multiplies matching context weights and levers, by group and by offer', () => {
    const rs = ruleset({
      contextWeights: [{ name: 'complaint', when: { context: { intent: 'complaint' } }, groups: { care: 4 } }],
      levers: [
        { name: 'top care', when: { valueSegment: ['top', 'super'] }, groups: { care: 0.5 }, offers: { 'a-care': 3 } },
        { name: 'retain only', when: { lifecyclePhase: 'retain' }, groups: { develop: 100 } },
      ],
    });
    const plain = run(rs);
    expect(plain.ranked[0]!.offer.id).toBe('a-care');
    expect(plain.ranked[0]!.parts).toMatchObject({ contextWeight: 1, lever: 1.5, score: 15 });
    expect(appliedNames(plain.weights.levers, plain.ranked[0]!.offer)).toEqual(['top care']);
    const complaint = run(rs, { intent: 'complaint' });
    expect(complaint.ranked[0]!.parts).toMatchObject({ contextWeight: 4, lever: 1.5, score: 60 });
    expect(appliedNames(complaint.weights.contextWeights, complaint.ranked[0]!.offer)).toEqual(['complaint']);
    expect(complaint.ranked.find((s) => s.offer.id === 'b-develop')!.parts.lever).toBe(1);
  });

  it('breaks ties by offer id so rankings are stable', () => {
    const rs = ruleset({ levers: [{ name: 'even', offers: { 'a-care': 1.5 } }] });
    expect(
      run(rs)
        .decision.offers.map((o) => o.offerId)
        .slice(0, 2),
    ).toEqual(['a-care', 'b-develop']);
  });

  it('caps the answer by the request limit and the channel maxOffers', () => {
    expect(run(ruleset({}), {}, profile, 2).decision.offers).toHaveLength(2);
    expect(run(ruleset({}, 1), {}, profile, 3).decision.offers).toHaveLength(1);
  });

  it('gives an unknown customer only fallback offers', () => {
    const out = run(ruleset({}), {}, null);
    expect(out.decision.offers.map((o) => o.offerId)).toEqual(['c-service']);
    expect(out.decision.profile.found).toBe(false);
  });
});

describe('arbitration with learned propensities before any outcome', () => {
  it('ranks as the priors do, ties included, so a preview and the service agree', async () => {
    const { shippedRuleSet } = await import('../support/rules.js');
    const { generateProfiles } = await import('../../src/offline/demo/profiles.js');
    const { LearnedPropensity, LearningState } = await import('../../src/learning/index.js');
    const rs = await shippedRuleSet();
    const learned = new LearnedPropensity(new LearningState());
    const settings = { ...rs.source.arbitration.learning, exploration: 'none' as const };
    const model = {
      assess: (o: Parameters<typeof learned.assess>[0], c: string, p: Parameters<typeof learned.assess>[2]) =>
        learned.assess(o, c, p, settings),
    };
    let compared = 0;
    for (const p of generateProfiles({ customers: 3_000, seed: 11 })) {
      for (const channel of ['web', 'call-center']) {
        const input = { request: { customerId: p.customerId, channel }, profile: p, degraded: false };
        const a = decide(rs, input, priorPropensity).decision.offers.map((o) => o.offerId);
        const b = decide(rs, input, model).decision.offers.map((o) => o.offerId);
        expect(b, `${p.customerId} ${channel}`).toEqual(a);
        compared++;
      }
    }
    expect(compared).toBe(6_000);
  });

  it('ranks any number of offers best score first, ties by offer id, as a plain sort of the scores does', () => {
    // scores from a handful of values, so ties are common; up to 80 offers, past the insertion sort's 32
    const offers = fc.uniqueArray(
      fc.record({
        id: fc.stringMatching(/^[a-z]{1,6}$/),
        value: fc.constantFrom(1, 2, 3, 5, 8),
        prior: fc.constantFrom(0.1, 0.2, 0.5),
      }),
      { selector: (o) => o.id, maxLength: 80, size: 'max' },
    );
    fc.assert(
      fc.property(offers, (specs) => {
        const compiled = specs.map((o) => ({
          ...offer(o.id, 'care', o.value, o.prior),
          prior: { web: o.prior },
        })) as unknown as Parameters<typeof arbitrate>[2];
        const input = { request: { customerId: 'X1', channel: 'web' }, profile, degraded: false };
        const ranked = arbitrate(
          input,
          { contextWeights: [], levers: [] },
          compiled,
          priorPropensity,
          Arbitration.parse({}).learning,
        );
        const expected = specs
          .map((o) => ({ id: o.id, score: Math.round(o.prior * o.value * 1e9) / 1e9 }))
          .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id, 'en', { sensitivity: 'variant' }) || 0)
          .map((o) => [o.id, o.score]);
        expect(ranked.map((s) => [s.offer.id, s.parts.score])).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
