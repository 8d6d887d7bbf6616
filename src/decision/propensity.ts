import type { Profile } from '../profiles/schema.js';
import type { CompiledOffer } from '../rules/ruleset.js';
import type { Learning } from '../rules/schema.js';

/** The likelihood that this customer takes this offer on this channel. */
export interface PropensityModel {
  /** the estimate reported with the offer */
  propensity(offer: CompiledOffer, channel: string, profile: Profile | undefined, learning: Learning): number;
  /** what ranks the offer: a draw from the estimate's uncertainty when exploring, else the estimate */
  draw(offer: CompiledOffer, channel: string, profile: Profile | undefined, learning: Learning): number;
}

const prior = (offer: CompiledOffer, channel: string) => offer.prior[channel] ?? 0;

/** The offer's prior from its rule file, without learning or exploration. */
export const priorPropensity: PropensityModel = { propensity: prior, draw: prior };
