import type { Profile } from '../profiles/schema.js';
import type { Facts } from '../rules/compile.js';
import type { DecisionRequest } from './types.js';

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

/** The facts conditions read: profile fields, derived values and the request (see rules/schema.ts FACTS). */
export function buildFacts(profile: Profile, request: DecisionRequest): Facts {
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
    channelConsent: profile.consents.includes(request.channel),
    attributes: profile.attributes,
    channel: request.channel,
    placement: request.placement ?? '',
    context: request.context ?? EMPTY,
  };
}
