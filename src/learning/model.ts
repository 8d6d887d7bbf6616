import type { Profile } from '../profiles/schema.js';
import type { CompiledOffer } from '../rules/ruleset.js';
import type { Learning } from '../rules/schema.js';

export interface Assessment {
  /** the estimate reported with the offer */
  readonly propensity: number;
  /** what ranks the offer: a draw from the estimate's uncertainty when exploring, else the estimate */
  readonly draw: number;
}

/** The likelihood that this customer takes this offer on this channel. */
export interface PropensityModel {
  assess(offer: CompiledOffer, channel: string, profile: Profile | undefined, learning: Learning): Assessment;
}

/** The offer's prior from its rule file, without learning or exploration. */
export const priorPropensity: PropensityModel = {
  assess(offer, channel) {
    const p = offer.prior[channel] ?? 0;
    return { propensity: p, draw: p };
  },
};
