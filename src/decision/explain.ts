import type { ContactState } from '../contacts/state.js';
import { type ConditionTrace, evaluateReference } from '../rules/reference.js';
import type { RuleSet } from '../rules/ruleset.js';
import { appliedNames } from './arbitrate.js';
import { type Outcome, offersFor } from './decide.js';
import { buildFacts } from './facts.js';
import { PolicyView } from './policy.js';
import type { DecisionInput, ExplainedScoreParts } from './types.js';

export interface OfferExplanation {
  readonly offerId: string;
  readonly group: string;
  readonly eligible: boolean;
  readonly selected: boolean;
  readonly rank: number | null;
  readonly conditions: ConditionTrace | null;
  /** the contact-policy rule, or the channel's cap, that held an eligible offer back */
  readonly suppressedBy: string | null;
  readonly scoreParts: ExplainedScoreParts | null;
  readonly note?: string;
}

/**
 * Why each of the channel's offers was chosen, excluded or suppressed. Conditions are traced
 * by json-rules-engine itself (the reference), with the fact value it saw and the result.
 * Nothing is written: an explanation changes no contact state, counters or learning.
 */
export async function explain(
  ruleset: RuleSet,
  input: DecisionInput,
  outcome: Outcome,
  contacts: ContactState | undefined,
  now: number,
): Promise<OfferExplanation[]> {
  const { request, profile } = input;
  const scoredById = new Map(outcome.ranked.map((s) => [s.offer.id, s] as const));
  const rankOf = new Map(outcome.decision.offers.map((o) => [o.offerId, o.rank] as const));
  const channelCap = ruleset.maxOffers.get(request.channel);
  const full = outcome.decision.offers.length >= outcome.limit;
  const facts = profile ? buildFacts(profile, request) : undefined;
  const control = outcome.decision.controlGroup ? ruleset.control.get(request.channel) : undefined;
  const policy = new PolicyView(ruleset.policy, contacts, request.channel, now);
  return Promise.all(
    offersFor(ruleset, request.channel).map(async (offer): Promise<OfferExplanation> => {
      const scored = scoredById.get(offer.id);
      const rank = rankOf.get(offer.id) ?? null;
      let held: string | null = null;
      if (scored && rank === null) {
        // past the limit the engine stopped looking: say what would have held it back
        held = outcome.suppressed.get(offer.id) ?? policy.suppressedBy(offer, outcome.presented);
        if (held === null && full && channelCap !== undefined && outcome.limit === channelCap)
          held = `contact-policy: channels.${request.channel}.maxOffers = ${channelCap}`;
      }
      const base = {
        offerId: offer.id,
        group: offer.group,
        eligible: scored !== undefined,
        selected: rank !== null,
        rank,
        suppressedBy: held,
        scoreParts: scored
          ? {
              ...scored.parts,
              contextWeightsApplied: appliedNames(outcome.weights.contextWeights, offer),
              leversApplied: appliedNames(outcome.weights.levers, offer),
            }
          : null,
      };
      if (control?.heldOut.has(offer.group)) {
        if (control.offers === 'none')
          return {
            ...base,
            conditions: null,
            note: `control group: the ${offer.group} group is held out, not shown`,
          };
        if (scored)
          return {
            ...base,
            conditions: facts ? (await evaluateReference(offer.source.eligibility, facts)).conditions : null,
            note: `control group: the ${offer.group} group's eligible offers take their places in random order, not by score`,
          };
      }
      if (!facts) {
        return {
          ...base,
          conditions: null,
          note: offer.fallback
            ? 'unknown customer: fallback offer'
            : 'unknown customer: only fallback offers are considered',
        };
      }
      const reference = await evaluateReference(offer.source.eligibility, facts);
      return { ...base, conditions: reference.conditions };
    }),
  );
}
