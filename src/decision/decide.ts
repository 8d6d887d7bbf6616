import { type ContactState, EMPTY_CONTACTS, type Presented } from '../contacts/state.js';
import type { PropensityModel } from '../learning/model.js';
import { newId } from '../math/ids.js';
import type { CompiledOffer, RuleSet } from '../rules/ruleset.js';
import { arbitrate, type MatchedWeights, matchWeights, type Scored } from './arbitrate.js';
import type { Arm } from './assign.js';
import { buildFacts, consentFor } from './facts.js';
import { cappedBy, PolicyView, presentedAs } from './policy.js';
import type { Decision, DecisionInput, RankedOffer } from './types.js';

export { roundScore } from './arbitrate.js';

/** What a decision reads besides the rule set and the request. */
export interface DecideOptions {
  /** the customer's contact state; undefined when it could not be read */
  readonly contacts?: ContactState | undefined;
  readonly now?: number;
  readonly arm?: Arm;
  /** for the order of a control group's random offers */
  readonly random?: () => number;
  /** hold back every offer a cap counts: its contact could not be reserved */
  readonly holdCapped?: boolean;
  /** only these offers are considered (an outbound journey step names one offer or some groups) */
  readonly only?: (offer: CompiledOffer) => boolean;
  /** the decision's ID; a new random one by default (a batch run derives its own, so a re-run gets the same) */
  readonly decisionId?: string;
}

export interface Outcome {
  readonly decision: Decision;
  /** every eligible offer in the order considered (best first; shuffled for a random control group) */
  readonly ranked: readonly Scored[];
  /** the number of offers the answer may hold: the request's limit within the channel's cap */
  readonly limit: number;
  readonly weights: MatchedWeights;
  /** eligible offers contact policy held back, with the rule that did */
  readonly suppressed: ReadonlyMap<string, string>;
  /** what the answer's offers add to the customer's contact state */
  readonly presented: readonly Presented[];
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
 * The control group's order: the offers of the held-out groups change places among themselves
 * at random (Fisher–Yates over their places); every other offer keeps the place its score gives.
 */
export function shuffledIn(scored: readonly Scored[], heldOut: ReadonlySet<string>, random: () => number): Scored[] {
  const out = [...scored];
  const places: number[] = [];
  for (let i = 0; i < out.length; i++) if (heldOut.has(out[i]!.offer.group)) places.push(i);
  for (let k = places.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    const a = places[k]!;
    const b = places[j]!;
    [out[a], out[b]] = [out[b]!, out[a]!];
  }
  return out;
}

/**
 * The hot path: synchronous over one immutable rule-set snapshot and the contact state read
 * for this customer. A known customer gets the eligible offers, an unknown one the channel's
 * fallback offers; both ranked, then taken in order while contact policy allows, up to the limit.
 */
export function decide(
  ruleset: RuleSet,
  input: DecisionInput,
  model: PropensityModel,
  options: DecideOptions = {},
): Outcome {
  const { request, profile } = input;
  const now = options.now ?? Date.now();
  const contacts = 'contacts' in options ? options.contacts : EMPTY_CONTACTS;
  const arm = options.arm ?? 'champion';
  const control = arm === 'control' ? ruleset.control.get(request.channel) : undefined;
  let candidates: readonly CompiledOffer[];
  if (profile) {
    const facts = buildFacts(profile, request, consentFor(ruleset, request.channel));
    const reachable =
      ruleset.byChannelCell.get(request.channel)?.get(profile.lifecyclePhase)?.get(profile.valueSegment) ?? [];
    const only = options.only;
    const eligible: CompiledOffer[] = [];
    for (let i = 0; i < reachable.length; i++) {
      const o = reachable[i]!;
      if ((only === undefined || only(o)) && o.eligible(facts)) eligible.push(o);
    }
    candidates = eligible;
  } else {
    candidates = ruleset.fallbackByChannel.get(request.channel) ?? [];
    if (options.only) candidates = candidates.filter(options.only);
  }
  if (control?.offers === 'none') candidates = candidates.filter((o) => !control.heldOut.has(o.group));
  const weights = matchWeights(ruleset, input);
  const scored = arbitrate(input, weights, candidates, model, ruleset.source.arbitration.learning);
  const ranked =
    control?.offers === 'random' ? shuffledIn(scored, control.heldOut, options.random ?? Math.random) : scored;
  const limit = limitFor(ruleset, input);
  const offers: RankedOffer[] = [];
  const suppressed = new Map<string, string>();
  const presented: Presented[] = [];
  const policy = new PolicyView(ruleset.policy, contacts, request.channel, now);
  for (let i = 0; i < ranked.length && offers.length < limit; i++) {
    const { offer, parts } = ranked[i]!;
    let rule = policy.suppressedBy(offer, presented);
    // what it would add is asked only of an offer the policy lets through
    const adds = rule === null ? presentedAs(ruleset.policy, offer, request.channel, now) : undefined;
    if (adds && options.holdCapped)
      rule = `${cappedBy(ruleset.policy, offer, request.channel)} (could not be reserved)`;
    if (rule !== null) {
      suppressed.set(offer.id, rule);
      continue;
    }
    if (adds) presented.push(adds);
    offers.push({
      rank: offers.length + 1,
      offerId: offer.id,
      name: offer.name,
      group: offer.group,
      score: parts.score,
      propensity: parts.propensity,
      treatment: offer.treatments[request.channel]!,
    });
  }
  return {
    ranked,
    limit,
    weights,
    suppressed,
    presented,
    decision: {
      decisionId: options.decisionId ?? newId(),
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
      controlGroup: arm === 'control',
      arm,
      interactionId: request.interactionId ?? null,
      // the history could not be read and the policy had to guess
      degraded:
        input.degraded ||
        policy.guessed ||
        options.holdCapped === true ||
        (contacts === undefined && presented.length > 0),
    },
  };
}
