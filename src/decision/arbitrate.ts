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

const NONE: readonly CompiledWeight[] = Object.freeze([]);
const NO_CONTEXT: WeightSubject['context'] = Object.freeze({});

/** The entries that match, in order; most decisions match few or none, which shares one empty list. */
function matching(weights: readonly CompiledWeight[], subject: WeightSubject): readonly CompiledWeight[] {
  let matched: CompiledWeight[] | undefined;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w.matches(subject)) (matched ??= []).push(w);
  }
  return matched ?? NONE;
}

export function matchWeights(ruleset: RuleSet, input: DecisionInput): MatchedWeights {
  const { request, profile } = input;
  const subject: WeightSubject = {
    channel: request.channel,
    placement: request.placement ?? '',
    context: request.context ?? NO_CONTEXT,
    valueSegment: profile?.valueSegment,
    lifecyclePhase: profile?.lifecyclePhase,
  };
  return {
    contextWeights: matching(ruleset.arbitration.contextWeights, subject),
    levers: matching(ruleset.arbitration.levers, subject),
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
  return ranked(scored);
}

/** Best score first, ties by offer id. */
const order = (a: Scored, b: Scored): number => b.parts.score - a.parts.score || (a.offer.id < b.offer.id ? -1 : 1);

/** Up to this many offers a decision ranks by insertion; a longer list (a large catalogue) by Array.prototype.sort. */
const INSERTION_MOST = 32;

/**
 * Sorted in place: a decision ranks a few offers, tens at most, where insertion is quicker than
 * Array.prototype.sort and allocates nothing. The order is total (offer ids are unique), so the
 * result is the one any sort gives.
 */
function ranked(scored: Scored[]): Scored[] {
  if (scored.length > INSERTION_MOST) return scored.sort(order);
  for (let i = 1; i < scored.length; i++) {
    const s = scored[i]!;
    let j = i - 1;
    for (; j >= 0 && order(s, scored[j]!) < 0; j--) scored[j + 1] = scored[j]!;
    scored[j + 1] = s;
  }
  return scored;
}
