import type { DecisionRecord } from '../decision-log/store.js';
import type { Profile } from '../profiles/schema.js';
import type { ConditionTrace } from '../rules/reference.js';
import { evaluateReference } from '../rules/reference.js';
import type { RuleSet } from '../rules/ruleset.js';
import { offersFor } from './decide.js';
import { buildFacts, consentFor } from './facts.js';

/** One offer of the decision's channel, as the logged decision saw it and its rules judge it again. */
export interface PastOfferExplanation {
  readonly offerId: string;
  readonly group: string;
  /** in the answer the customer got */
  readonly presented: boolean;
  readonly rank: number | null;
  /** as logged when presented: never drawn again */
  readonly score: number | null;
  readonly propensity: number | null;
  /** its eligibility under the logged rule-set version and profile fields, evaluated now */
  readonly eligible: boolean;
  readonly conditions: ConditionTrace | null;
  readonly note?: string;
}

export interface PastExplanation {
  readonly rulesetVersion: string;
  /** where the facts came from */
  readonly basis: string;
  readonly offers: readonly PastOfferExplanation[];
}

/** What the conditions read besides the logged fields: the customer's profile now, or neutral values once it is gone. */
function profileOf(record: DecisionRecord, current: Profile | null): { profile: Profile; basis: string } {
  const logged = record.profile;
  const base: Profile = current ?? {
    customerId: record.customerId,
    valueSegment: 'bottom',
    lifecyclePhase: 'new',
    clv: 0,
    churnScore: 0,
    tenureDays: 0,
    annualRevenue: 0,
    productsHeld: [],
    consents: [],
    attributes: {},
  };
  const profile: Profile = {
    ...base,
    valueSegment: logged.valueSegment as Profile['valueSegment'],
    lifecyclePhase: logged.lifecyclePhase as Profile['lifecyclePhase'],
    clv: logged.clv ?? base.clv,
    churnScore: logged.churnScore ?? base.churnScore,
  };
  const others = current
    ? 'the other profile fields as the profile holds them now'
    : 'the profile is gone: other profile fields read as empty';
  return {
    profile,
    basis: `logged valueSegment, lifecyclePhase, clv and churnScore; ${others}; the request's context and placement are not logged, so conditions on them read them as absent`,
  };
}

type LoggedOffer = DecisionRecord['offers'][number];

/** What the log says of an offer: presented with its rank and scores, or not. */
const asLogged = (o: LoggedOffer | undefined) => ({
  presented: o !== undefined,
  rank: o?.rank ?? null,
  score: o?.score ?? null,
  propensity: o?.propensity ?? null,
});

/**
 * Why a logged decision presented what it did: each offer of its channel under the rule-set
 * version that decided, eligibility evaluated again (by json-rules-engine, the reference) on
 * the logged profile fields, and the scores as logged — nothing drawn again.
 */
export async function explainPast(
  record: DecisionRecord,
  ruleset: RuleSet,
  current: Profile | null,
): Promise<PastExplanation> {
  const logged = new Map(record.offers.map((o) => [o.offerId, o] as const));
  const control = record.arm === 'control' ? ruleset.control.get(record.channel) : undefined;
  if (!record.profile.found || record.profile.valueSegment === null || record.profile.lifecyclePhase === null) {
    return {
      rulesetVersion: ruleset.version,
      basis: 'unknown customer: only fallback offers are considered',
      offers: offersFor(ruleset, record.channel).map((offer) => {
        return {
          offerId: offer.id,
          group: offer.group,
          ...asLogged(logged.get(offer.id)),
          eligible: offer.fallback,
          conditions: null,
          note: offer.fallback
            ? 'unknown customer: fallback offer'
            : 'unknown customer: only fallback offers are considered',
        };
      }),
    };
  }
  const { profile, basis } = profileOf(record, current);
  const facts = buildFacts(
    profile,
    { customerId: record.customerId, channel: record.channel },
    consentFor(ruleset, record.channel),
  );
  const offers = await Promise.all(
    offersFor(ruleset, record.channel).map(async (offer): Promise<PastOfferExplanation> => {
      const o = logged.get(offer.id);
      const { eligible: result, conditions } = await evaluateReference(offer.source.eligibility, facts);
      const held = control?.heldOut.has(offer.group);
      const note =
        held && control?.offers === 'none'
          ? `control group: the ${offer.group} group was held out, not shown`
          : held
            ? `control group: the ${offer.group} group's eligible offers took their places in random order, not by score`
            : o === undefined && result
              ? 'eligible but not presented: ranked lower, past the limit, or held back by contact policy; scores are logged for presented offers only'
              : undefined;
      return {
        offerId: offer.id,
        group: offer.group,
        ...asLogged(o),
        eligible: result,
        conditions,
        ...(note && { note }),
      };
    }),
  );
  return { rulesetVersion: ruleset.version, basis, offers };
}
