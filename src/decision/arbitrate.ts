import type { PropensityModel } from '../learning/model.js';
import type { CompiledOffer, RuleSet } from '../rules/ruleset.js';
import type { Learning } from '../rules/schema.js';
import type { CompiledWeight, WeightSubject } from '../rules/weights.js';
import type { DecisionInput, ScoreParts } from './types.js';

export interface Scored {
  readonly offer: CompiledOffer;
  readonly parts: ScoreParts;
}

/** The weight entries whose `when` matches this decision, split by kind. */
export interface MatchedWeights {
  readonly contextWeights: readonly CompiledWeight[];
  readonly levers: readonly CompiledWeight[];
}

export function matchWeights(ruleset: RuleSet, input: DecisionInput): MatchedWeights {
  const { request, profile } = input;
  const subject: WeightSubject = {
    channel: request.channel,
    placement: request.placement ?? '',
    context: request.context ?? {},
    valueSegment: profile?.valueSegment,
    lifecyclePhase: profile?.lifecyclePhase,
  };
  return {
    contextWeights: ruleset.arbitration.contextWeights.filter((w) => w.matches(subject)),
    levers: ruleset.arbitration.levers.filter((w) => w.matches(subject)),
  };
}

const applies = (w: CompiledWeight, offer: CompiledOffer): boolean =>
  w.offers.has(offer.id) || w.groups.has(offer.group);

function factor(weights: readonly CompiledWeight[], offer: CompiledOffer): number {
  let f = 1;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    f *= (w.offers.get(offer.id) ?? 1) * (w.groups.get(offer.group) ?? 1);
  }
  return f;
}

/** Names of the entries that changed this offer's score, for explain. */
export const appliedNames = (weights: readonly CompiledWeight[], offer: CompiledOffer): string[] =>
  weights.filter((w) => applies(w, offer)).map((w) => w.name);

/** Nine decimals: enough to rank by, without float noise such as 1.7999999999999998 deciding a tie. */
export const roundScore = (score: number): number => Math.round(score * 1e9) / 1e9;

/** score = propensity draw × context weight × value × lever, rounded; ties go to the offer id, so ranks are stable. */
export function arbitrate(
  input: DecisionInput,
  matched: MatchedWeights,
  offers: readonly CompiledOffer[],
  model: PropensityModel,
  learning: Learning,
): Scored[] {
  const { request, profile } = input;
  const scored: Scored[] = new Array(offers.length);
  for (let i = 0; i < offers.length; i++) {
    const offer = offers[i]!;
    const { propensity, draw: propensityDraw } = model.assess(offer, request.channel, profile, learning);
    const contextWeight = factor(matched.contextWeights, offer);
    const lever = factor(matched.levers, offer);
    scored[i] = {
      offer,
      parts: {
        propensity,
        propensityDraw,
        contextWeight,
        value: offer.value,
        lever,
        score: roundScore(propensityDraw * contextWeight * offer.value * lever),
      },
    };
  }
  return scored.sort((a, b) => b.parts.score - a.parts.score || (a.offer.id < b.offer.id ? -1 : 1));
}
