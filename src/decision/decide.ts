import { randomUUID } from 'node:crypto';
import type { CompiledOffer, RuleSet } from '../rules/ruleset.js';
import { arbitrate, matchWeights, type MatchedWeights, type Scored } from './arbitrate.js';
import { buildFacts } from './facts.js';
import type { PropensityModel } from './propensity.js';
import type { Decision, DecisionInput, RankedOffer } from './types.js';

/** Nine decimals: enough to rank by, without float noise such as 1.7999999999999998. */
export const roundScore = (score: number): number => Math.round(score * 1e9) / 1e9;

export interface Outcome {
  readonly decision: Decision;
  /** every eligible offer, best first; `decision.offers` is its head */
  readonly ranked: readonly Scored[];
  /** the number of offers the answer may hold: the request's limit within the channel's cap */
  readonly limit: number;
  readonly weights: MatchedWeights;
}

/** Has the channel been checked against the rule set? The route does it; the engine trusts it. */
export function offersFor(ruleset: RuleSet, channel: string): readonly CompiledOffer[] {
  return ruleset.byChannel.get(channel) ?? [];
}

export function limitFor(ruleset: RuleSet, input: DecisionInput): number {
  const requested = input.request.limit ?? ruleset.manifest.defaultLimit;
  return Math.min(requested, ruleset.maxOffers.get(input.request.channel) ?? requested);
}

/**
 * The hot path: synchronous over one immutable rule-set snapshot.
 * A known customer gets the eligible offers; an unknown one the channel's fallback offers.
 */
export function decide(ruleset: RuleSet, input: DecisionInput, model: PropensityModel): Outcome {
  const { request, profile } = input;
  let candidates: readonly CompiledOffer[];
  if (profile) {
    const facts = buildFacts(profile, request);
    const reachable = ruleset.byChannelPhase.get(request.channel)?.get(profile.lifecyclePhase) ?? [];
    candidates = reachable.filter((o) => o.eligible(facts));
  } else {
    candidates = ruleset.fallbackByChannel.get(request.channel) ?? [];
  }
  const weights = matchWeights(ruleset, input);
  const ranked = arbitrate(input, weights, candidates, model);
  const limit = limitFor(ruleset, input);
  const offers: RankedOffer[] = [];
  for (let i = 0; i < ranked.length && i < limit; i++) {
    const { offer, parts } = ranked[i]!;
    offers.push({
      rank: i + 1,
      offerId: offer.id,
      name: offer.name,
      group: offer.group,
      score: roundScore(parts.score),
      propensity: parts.propensity,
      treatment: offer.treatments[request.channel]!,
    });
  }
  return {
    ranked,
    limit,
    weights,
    decision: {
      decisionId: randomUUID(),
      customerId: request.customerId,
      channel: request.channel,
      placement: request.placement ?? null,
      rulesetVersion: ruleset.version,
      profile: {
        found: profile !== undefined,
        valueSegment: profile?.valueSegment ?? null,
        lifecyclePhase: profile?.lifecyclePhase ?? null,
      },
      offers,
      controlGroup: false,
      degraded: input.degraded,
    },
  };
}
