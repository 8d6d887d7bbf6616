import type { CompiledOffer, RuleSet } from '../rules/ruleset.js';
import type { CompiledWeight, WeightSubject } from '../rules/weights.js';
import type { PropensityModel } from './propensity.js';
import type { DecisionInput, ScoreParts } from './types.js';

export interface Scored {
  readonly offer: CompiledOffer;
  readonly parts: ScoreParts;
}

function multiplier(weights: readonly CompiledWeight[], offer: CompiledOffer): { factor: number; applied: string[] } {
  let factor = 1;
  const applied: string[] = [];
  for (const w of weights) {
    const byOffer = w.offers.get(offer.id);
    const byGroup = w.groups.get(offer.group);
    if (byOffer === undefined && byGroup === undefined) continue;
    factor *= (byOffer ?? 1) * (byGroup ?? 1);
    applied.push(w.name);
  }
  return { factor, applied };
}

/** score = propensity × context weight × value × lever; ties go to the offer id, so ranks are stable. */
export function arbitrate(
  ruleset: RuleSet,
  input: DecisionInput,
  offers: readonly CompiledOffer[],
  model: PropensityModel,
): Scored[] {
  const { request, profile } = input;
  const subject: WeightSubject = {
    channel: request.channel,
    placement: request.placement ?? '',
    context: request.context ?? {},
    valueSegment: profile?.valueSegment,
    lifecyclePhase: profile?.lifecyclePhase,
  };
  const contextWeights = ruleset.arbitration.contextWeights.filter((w) => w.matches(subject));
  const levers = ruleset.arbitration.levers.filter((w) => w.matches(subject));
  const scored: Scored[] = offers.map((offer) => {
    const propensity = model.propensity(offer, request.channel, profile);
    const context = multiplier(contextWeights, offer);
    const lever = multiplier(levers, offer);
    return {
      offer,
      parts: {
        propensity,
        contextWeight: context.factor,
        value: offer.value,
        lever: lever.factor,
        score: propensity * context.factor * offer.value * lever.factor,
        contextWeightsApplied: context.applied,
        leversApplied: lever.applied,
      },
    };
  });
  return scored.sort((a, b) => b.parts.score - a.parts.score || (a.offer.id < b.offer.id ? -1 : 1));
}
