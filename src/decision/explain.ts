import type { ContactState } from '../contacts/state.js';
import { phrase } from '../rules/lint.js';
import { type ConditionTrace, evaluateReference } from '../rules/reference.js';
import type { RuleSet } from '../rules/ruleset.js';
import type { LeafCondition } from '../rules/schema.js';
import { appliedNames } from './arbitrate.js';
import { type Outcome, offersFor } from './decide.js';
import { buildFacts, consentFor } from './facts.js';
import { PolicyView } from './policy.js';
import type { DecisionInput, ExplainedScoreParts } from './types.js';

export interface OfferExplanation {
  /** the outcome in one line: chosen, not eligible because…, held back by…, not among those shown */
  readonly summary: string;
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

/** Does the traced condition hold? A condition the engine never reached (it had decided) does not count against. */
function holds(t: ConditionTrace): boolean {
  if (t.all) return t.all.every(holds);
  if (t.any) return t.any.length === 0 || t.any.some(holds);
  if (t.not) return !holds(t.not);
  return t.result !== false;
}

/** The first condition that kept the offer out, in file order. */
function failing(t: ConditionTrace): ConditionTrace | undefined {
  if (t.all) {
    const first = t.all.find((c) => !holds(c));
    return first && failing(first);
  }
  if (t.any) return holds(t) ? undefined : failing(t.any[0]!);
  if (t.not) return holds(t) ? undefined : t;
  return t.result === false ? t : undefined;
}

/** "clv must be at least 1500 (it is 820)" */
function why(t: ConditionTrace): string {
  if (t.not) return `a "not" condition holds the other way (${t.not.fact ?? 'a group'})`;
  const [verb, object] = phrase(t as LeafCondition);
  const subject = t.path === undefined ? t.fact : `${t.fact} ${t.path}`;
  return `${subject} must ${verb} ${object} (it is ${t.factValue === undefined ? 'absent' : JSON.stringify(t.factValue)})`;
}

/** The one line that comes first: what happened to the offer, and the reason. */
function summaryOf(e: Omit<OfferExplanation, 'summary'>, shown: number): string {
  const score = e.scoreParts ? `, score ${e.scoreParts.score.toFixed(4)}` : '';
  if (e.selected) return `chosen: rank ${e.rank}${score}`;
  if (e.note !== undefined && !e.eligible) return e.note;
  if (!e.eligible) {
    const reason = e.conditions && failing(e.conditions);
    return reason ? `not eligible: ${why(reason)}` : 'not eligible';
  }
  if (e.suppressedBy !== null) return `eligible, held back by ${e.suppressedBy}${score}`;
  if (e.note !== undefined) return `eligible, not shown: ${e.note}`;
  return `eligible, not among the ${shown} shown${score}`;
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
  const facts = profile ? buildFacts(profile, request, consentFor(ruleset, request.channel)) : undefined;
  const control = outcome.decision.controlGroup ? ruleset.control.get(request.channel) : undefined;
  const policy = new PolicyView(ruleset.policy, contacts, request.channel, now);
  const detailed = await Promise.all(
    offersFor(ruleset, request.channel).map(async (offer): Promise<Omit<OfferExplanation, 'summary'>> => {
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
  // the summary first, so it reads before the detail
  return detailed.map((e) => ({ summary: summaryOf(e, outcome.decision.offers.length), ...e }));
}
