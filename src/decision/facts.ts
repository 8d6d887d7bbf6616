import type { Profile } from '../profiles/schema.js';
import type { Facts } from '../rules/compile.js';
import type { RuleSet } from '../rules/ruleset.js';
import type { DecisionRequest } from './types.js';

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

/** The consent a channel needs: an outbound channel's as the manifest says it (null: none), else the channel's own name. */
export function consentFor(ruleset: RuleSet, channel: string): string | null {
  const outbound = ruleset.outbound.channels.get(channel);
  return outbound === undefined ? channel : (outbound.consent ?? null);
}

/**
 * The facts conditions read: profile fields, derived values and the request (see rules/schema.ts
 * FACTS). `consent` is what channelConsent looks for (consentFor), null when the channel needs none.
 */
export function buildFacts(
  profile: Profile,
  request: DecisionRequest,
  consent: string | null = request.channel,
): Facts {
  return {
    customerId: profile.customerId,
    valueSegment: profile.valueSegment,
    lifecyclePhase: profile.lifecyclePhase,
    clv: profile.clv,
    churnScore: profile.churnScore,
    npsScore: profile.npsScore,
    tenureDays: profile.tenureDays,
    annualRevenue: profile.annualRevenue,
    productsHeld: profile.productsHeld,
    productCount: profile.productsHeld.length,
    consents: profile.consents,
    channelConsent: consent === null || profile.consents.includes(consent),
    attributes: profile.attributes,
    channel: request.channel,
    placement: request.placement ?? '',
    context: request.context ?? EMPTY,
  };
}
