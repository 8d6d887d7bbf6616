import { beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../src/decision/decide.js';
import { buildFacts } from '../src/decision/facts.js';
import type { DecisionRequest } from '../src/decision/types.js';
import { priorPropensity } from '../src/learning/model.js';
import { generateProfiles } from '../src/offline/demo/profiles.js';
import {
  LIFECYCLE_PHASES,
  type LifecyclePhase,
  Profile,
  VALUE_SEGMENTS,
  type ValueSegment,
} from '../src/profiles/schema.js';
import { evaluateReference } from '../src/rules/reference.js';
import type { RuleSet } from '../src/rules/ruleset.js';
import { OFFER_GROUPS, type OfferGroup } from '../src/rules/schema.js';
import { shippedRuleSet } from './support/rules.js';

/** Which groups may lead the answer in each lifecycle phase (the lifecycle phases' purposes: onboard new customers, develop and care for loyal ones, save those at risk, win back the lapsed). */
const FITS: Record<LifecyclePhase, readonly OfferGroup[]> = {
  new: ['onboard', 'care', 'service'],
  loyalty: ['care', 'develop', 'service'],
  retain: ['anti-churn', 'save', 'service', 'care'],
  regain: ['winback', 'end'],
};

const CHANNELS = ['web', 'call-center'] as const;

// typical numbers per segment and phase; the grid crosses them with product mixes and consents
const SEGMENT = {
  super: { clv: 20000, annualRevenue: 3000 },
  top: { clv: 8000, annualRevenue: 1500 },
  middle: { clv: 2500, annualRevenue: 600 },
  bottom: { clv: 600, annualRevenue: 250 },
} satisfies Record<ValueSegment, object>;

const PHASE = {
  new: [
    { tenureDays: 10, churnScore: 0.1 },
    { tenureDays: 45, churnScore: 0.1 },
    { tenureDays: 90, churnScore: 0.15 },
  ],
  loyalty: [
    { tenureDays: 900, churnScore: 0.15 },
    { tenureDays: 200, churnScore: 0.2 },
  ],
  retain: [
    { tenureDays: 700, churnScore: 0.7, contractMonthsLeft: 2 },
    { tenureDays: 1500, churnScore: 0.35, contractMonthsLeft: 10 },
  ],
  regain: [
    { tenureDays: 1000, churnScore: 0.95 },
    { tenureDays: 120, churnScore: 0.9 },
  ],
} satisfies Record<LifecyclePhase, object[]>;

const MIXES = [
  { productsHeld: ['mobile'], dataUsagePct: 60, appUser: true },
  { productsHeld: ['mobile'], dataUsagePct: 120, appUser: false },
  { productsHeld: ['broadband', 'mobile', 'tv'], dataUsagePct: 80, appUser: true },
  { productsHeld: ['fibre', 'tv', 'sports-pack', 'landline'], appUser: false },
];

const CONSENTS = [['web', 'call-center', 'email', 'sms'], ['email']];

interface GridCase {
  readonly label: string;
  readonly profile: Profile;
}

function grid(): GridCase[] {
  const out: GridCase[] = [];
  let n = 0;
  for (const valueSegment of VALUE_SEGMENTS) {
    for (const lifecyclePhase of LIFECYCLE_PHASES) {
      for (const p of PHASE[lifecyclePhase]) {
        for (const mix of MIXES) {
          for (const consents of CONSENTS) {
            const attributes: Record<string, number | boolean> = {
              paymentLate: false,
              appUser: mix.appUser,
              contractMonthsLeft: 12,
            };
            if ('contractMonthsLeft' in p) attributes.contractMonthsLeft = p.contractMonthsLeft;
            if (mix.dataUsagePct !== undefined) attributes.dataUsagePct = mix.dataUsagePct;
            const profile = Profile.parse({
              customerId: `G${++n}`,
              valueSegment,
              lifecyclePhase,
              ...SEGMENT[valueSegment],
              churnScore: p.churnScore,
              tenureDays: p.tenureDays,
              productsHeld: mix.productsHeld,
              consents,
              attributes,
            });
            out.push({
              label: `${valueSegment}/${lifecyclePhase}/${p.tenureDays}d/${mix.productsHeld.join('+')}/${consents.join('+')}`,
              profile,
            });
          }
        }
      }
    }
  }
  return out;
}

let ruleset: RuleSet;
beforeAll(async () => {
  ruleset = await shippedRuleSet();
});

const top = (profile: Profile, request: DecisionRequest) =>
  decide(ruleset, { request, profile, degraded: false }, priorPropensity).decision.offers[0];

describe('the shipped catalogue', () => {
  it('loads and compiles', () => {
    expect(ruleset.manifest.channels).toEqual(expect.arrayContaining([...CHANNELS]));
    expect(ruleset.offers.length).toBeGreaterThanOrEqual(20);
  });

  it('covers every offer group', () => {
    const groups = new Set(ruleset.offers.map((o) => o.group));
    expect([...groups].sort()).toEqual([...OFFER_GROUPS].sort());
  });

  it.each(CHANNELS)('has fallback offers on %s', (channel) => {
    expect(ruleset.fallbackByChannel.get(channel)?.length ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('has a treatment for both channels on most offers', () => {
    const both = ruleset.offers.filter((o) => o.treatments.web && o.treatments['call-center']);
    expect(both.length).toBeGreaterThanOrEqual(ruleset.offers.length - 3);
  });
});

describe('phase fit over a grid of typical profiles', () => {
  const cases = grid();

  it.each(CHANNELS)('the top offer on %s fits the lifecycle phase', (channel) => {
    const misfits: string[] = [];
    for (const { label, profile } of cases) {
      const first = top(profile, { customerId: profile.customerId, channel });
      if (!first || !FITS[profile.lifecyclePhase].includes(first.group as OfferGroup)) {
        misfits.push(`${label}: ${first ? `${first.offerId} (${first.group})` : 'no offer'}`);
      }
    }
    expect(misfits).toEqual([]);
  });

  it('a retain or loyalty caller who wants to cancel gets a save offer first', () => {
    const misfits: string[] = [];
    for (const { label, profile } of cases) {
      if (profile.lifecyclePhase !== 'retain' && profile.lifecyclePhase !== 'loyalty') continue;
      const first = top(profile, {
        customerId: profile.customerId,
        channel: 'call-center',
        context: { intent: 'cancel' },
      });
      if (first?.group !== 'save')
        misfits.push(`${label}: ${first ? `${first.offerId} (${first.group})` : 'no offer'}`);
    }
    expect(misfits).toEqual([]);
  });

  it.each(CHANNELS)(
    'every customer of the demo population gets an offer on %s, and the top one fits the phase',
    (channel) => {
      const misfits = new Map<string, number>();
      for (const profile of generateProfiles({ customers: 3000, seed: 42 })) {
        const first = top(profile, { customerId: profile.customerId, channel });
        if (first && FITS[profile.lifecyclePhase].includes(first.group as OfferGroup)) continue;
        const key = `${profile.valueSegment}/${profile.lifecyclePhase}: ${first?.offerId ?? 'no offer'}`;
        misfits.set(key, (misfits.get(key) ?? 0) + 1);
      }
      expect(Object.fromEntries(misfits)).toEqual({});
    },
  );

  it('compiled eligibility equals json-rules-engine on every grid profile and offer', async () => {
    const contexts: DecisionRequest[] = [
      { customerId: 'x', channel: 'web', placement: 'account-home' },
      { customerId: 'x', channel: 'call-center', context: { intent: 'cancel' } },
      { customerId: 'x', channel: 'call-center', context: { intent: 'moving' } },
    ];
    const disagreements: string[] = [];
    for (const [i, { label, profile }] of cases.entries()) {
      const request = contexts[i % contexts.length]!;
      const facts = buildFacts(profile, request);
      for (const offer of ruleset.offers) {
        const { eligible } = await evaluateReference(offer.source.eligibility, facts);
        if (eligible !== offer.eligible(facts)) disagreements.push(`${label} ${request.channel}: ${offer.id}`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
