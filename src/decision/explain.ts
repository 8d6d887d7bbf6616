import { evaluateReference, type ConditionTrace } from '../rules/reference.js';
import type { RuleSet } from '../rules/ruleset.js';
import { offersFor, type Outcome } from './decide.js';
import { buildFacts } from './facts.js';
import { appliedNames } from './arbitrate.js';
import type { DecisionInput, ExplainedScoreParts } from './types.js';

export interface OfferExplanation {
  readonly offerId: string;
  readonly group: string;
  readonly eligible: boolean;
  readonly selected: boolean;
  readonly rank: number | null;
  readonly conditions: ConditionTrace | null;
  readonly suppressedBy: string | null;
  readonly scoreParts: ExplainedScoreParts | null;
  readonly note?: string;
}

/**
 * Why each of the channel's offers was chosen, excluded or suppressed. Conditions are traced
 * by json-rules-engine itself (the reference), with the fact value it saw and the result.
 */
export async function explain(ruleset: RuleSet, input: DecisionInput, outcome: Outcome): Promise<OfferExplanation[]> {
  const { request, profile } = input;
  const position = new Map(outcome.ranked.map((s, i) => [s.offer.id, i] as const));
  const channelCap = ruleset.maxOffers.get(request.channel);
  const facts = profile ? buildFacts(profile, request) : undefined;
  return Promise.all(
    offersFor(ruleset, request.channel).map(async (offer): Promise<OfferExplanation> => {
      const at = position.get(offer.id);
      const scored = at === undefined ? undefined : outcome.ranked[at];
      const selected = at !== undefined && at < outcome.limit;
      const capped = at !== undefined && channelCap !== undefined && at >= channelCap;
      const base = {
        offerId: offer.id,
        group: offer.group,
        eligible: at !== undefined,
        selected,
        rank: selected ? at + 1 : null,
        suppressedBy: capped ? `contact-policy: channels.${request.channel}.maxOffers = ${channelCap}` : null,
        scoreParts: scored
          ? { ...scored.parts, contextWeightsApplied: appliedNames(outcome.weights.contextWeights, offer), leversApplied: appliedNames(outcome.weights.levers, offer) }
          : null,
      };
      if (!facts) {
        return { ...base, conditions: null, note: offer.fallback ? 'unknown customer: fallback offer' : 'unknown customer: only fallback offers are considered' };
      }
      const reference = await evaluateReference(offer.source.eligibility, facts);
      return { ...base, conditions: reference.conditions };
    }),
  );
}
