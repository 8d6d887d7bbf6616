import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyEvent, type ContactState, DAY_MS, parseContacts } from '../src/contacts/state.js';
import { decide } from '../src/decision/decide.js';
import { buildFacts } from '../src/decision/facts.js';
import type { DecisionRequest } from '../src/decision/types.js';
import { priorPropensity } from '../src/learning/model.js';
import { Profile } from '../src/profiles/schema.js';
import { evaluateReference } from '../src/rules/reference.js';
import type { RuleSet } from '../src/rules/ruleset.js';
import { OFFER_GROUPS } from '../src/rules/schema.js';
import { shippedRuleSet } from './support/rules.js';

/*
 * Golden cases: test/cases/*.json, one decision each, against the shipped rules/ folder.
 *   { "name": "...",
 *     "request": { customerId, channel, placement?, context?, limit? },
 *     "profile": { ...a profile as PUT /v1/profiles takes it } | null (unknown customer),
 *     "history": [{ outcome, channel, offerId, daysAgo }]   optional: the customer's past responses
 *     "expect": {
 *       "topGroupIn": ["care", ...],   the first offer's group is one of these
 *       "topOffer": "id",              the first offer is this one
 *       "includes": ["id", ...],       these offers are in the answer (within the limit)
 *       "excludes": ["id", ...],       these offers are not eligible at all (never shown, whatever the weights)
 *       "excludeGroups": ["develop"],  no eligible offer of these groups
 *       "absentGroups": ["save"],     no offer of these groups in the answer (eligible, but held back by contact policy)
 *       "count": n                     the answer holds exactly n offers
 *     } }
 * Expectations state business intent, not scores, so weight tweaks don't break them.
 * Every case also checks each offer's compiled eligibility against json-rules-engine.
 */

interface GoldenCase {
  name: string;
  request: DecisionRequest;
  profile: unknown;
  history?: { outcome: string; channel: string; offerId: string; daysAgo: number }[];
  expect: {
    topGroupIn?: string[];
    topOffer?: string;
    includes?: string[];
    excludes?: string[];
    excludeGroups?: string[];
    absentGroups?: string[];
    count?: number;
  };
}

const EXPECT_KEYS = new Set([
  'topGroupIn',
  'topOffer',
  'includes',
  'excludes',
  'excludeGroups',
  'absentGroups',
  'count',
]);
const NOW = Date.UTC(2026, 11, 1, 12);

/** The contact state a customer's past responses leave. */
function contactsOf(history: GoldenCase['history']): ContactState {
  const fields = new Map<string, number>();
  for (const [i, h] of (history ?? []).entries()) {
    applyEvent(fields, { ...h, decisionId: `d-${i}`, at: NOW - h.daysAgo * DAY_MS }, NOW, 365);
  }
  return parseContacts(fields);
}

const casesDir = new URL('./cases/', import.meta.url);
const caseFiles = readdirSync(casesDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const readCase = (file: string): GoldenCase => JSON.parse(readFileSync(new URL(file, casesDir), 'utf8')) as GoldenCase;

let ruleset: RuleSet;
beforeAll(async () => {
  ruleset = await shippedRuleSet();
});

describe('golden cases', () => {
  it('has cases', () => {
    expect(caseFiles.length).toBeGreaterThanOrEqual(16);
  });

  it.each(caseFiles)('%s', async (file) => {
    const c = readCase(file);
    const profile = c.profile === null ? undefined : Profile.parse(c.profile);
    const { decision, ranked } = decide(ruleset, { request: c.request, profile, degraded: false }, priorPropensity, {
      contacts: contactsOf(c.history),
      now: NOW,
    });
    const shown = decision.offers.map((o) => o.offerId);
    const eligible = new Set(ranked.map((s) => s.offer.id));
    const eligibleGroups = new Set<string>(ranked.map((s) => s.offer.group));
    const why = `${c.name}: got [${shown.join(', ')}]`;
    const { expect: want } = c;
    expect(
      Object.keys(want).filter((k) => !EXPECT_KEYS.has(k)),
      `${file}: unknown expectations`,
    ).toEqual([]);
    for (const group of [...(want.topGroupIn ?? []), ...(want.excludeGroups ?? []), ...(want.absentGroups ?? [])])
      expect(OFFER_GROUPS, file).toContain(group);

    if (want.topGroupIn) expect(want.topGroupIn, why).toContain(decision.offers[0]?.group);
    if (want.topOffer) expect(shown[0], why).toBe(want.topOffer);
    for (const id of want.includes ?? []) expect(shown, why).toContain(id);
    for (const id of want.excludes ?? []) expect(eligible.has(id), `${why}; ${id} must not be eligible`).toBe(false);
    for (const group of want.excludeGroups ?? [])
      expect(eligibleGroups.has(group), `${why}; no ${group} offer may be eligible`).toBe(false);
    for (const group of want.absentGroups ?? [])
      expect(
        decision.offers.map((o) => o.group),
        `${why}; no ${group} offer may be shown`,
      ).not.toContain(group);
    if (want.count !== undefined) expect(shown, why).toHaveLength(want.count);
    for (const id of [want.topOffer, ...(want.includes ?? []), ...(want.excludes ?? [])]) {
      if (id !== undefined)
        expect(
          ruleset.offers.some((o) => o.id === id),
          `${file} names an unknown offer "${id}"`,
        ).toBe(true);
    }

    expect(decision.profile.found).toBe(profile !== undefined);
    if (!profile) {
      expect(
        decision.offers.every((o) => ruleset.offers.find((x) => x.id === o.offerId)?.fallback),
        why,
      ).toBe(true);
      return;
    }
    // the compiled predicates must agree with json-rules-engine on every offer, whatever the channel
    const facts = buildFacts(profile, c.request);
    for (const offer of ruleset.offers) {
      const reference = await evaluateReference(offer.source.eligibility, facts);
      expect(offer.eligible(facts), `${offer.id}: compiled vs json-rules-engine`).toBe(reference.eligible);
    }
  });
});
