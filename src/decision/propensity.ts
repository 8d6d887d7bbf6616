import type { Profile } from '../profiles/schema.js';
import type { CompiledOffer } from '../rules/ruleset.js';

/** The likelihood that this customer takes this offer on this channel. */
export interface PropensityModel {
  propensity(offer: CompiledOffer, channel: string, profile: Profile | undefined): number;
}

/** The offer's prior from its rule file: what arbitration uses until outcomes have been learned. */
export const priorPropensity: PropensityModel = {
  propensity: (offer, channel) => offer.prior[channel] ?? 0,
};
