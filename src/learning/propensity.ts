import { type Rng, sampleBeta } from '../math/random.js';
import type { Profile } from '../profiles/schema.js';
import type { CompiledOffer } from '../rules/ruleset.js';
import type { Learning } from '../rules/schema.js';
import type { Assessment, PropensityModel } from './model.js';
import { type Counts, posterior, posteriorMean } from './posterior.js';
import { cellKey, type LearningState, NO_COUNTS } from './state.js';

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Learned propensity: a Beta posterior per cell, from the offer's prior (weighing
 * `priorStrength` impressions) and the outcomes seen. The estimate is the posterior mean;
 * with Thompson sampling an offer ranks by a draw from its posterior, so one shown little has
 * a fair chance to prove itself and one shown much ranks near its mean.
 */
export class LearnedPropensity implements PropensityModel {
  constructor(
    private readonly state: LearningState,
    private readonly rng: Rng = Math.random,
  ) {}

  /** the row of the last (channel, profile) asked about: a decision asks for every candidate in turn */
  private last:
    | {
        channel: string;
        segment: string | undefined;
        phase: string | undefined;
        generation: number;
        row: ReadonlyMap<string, Counts> | undefined;
      }
    | undefined;

  private rowFor(channel: string, profile: Profile | undefined): ReadonlyMap<string, Counts> | undefined {
    const last = this.last;
    const generation = this.state.generation;
    const segment = profile?.valueSegment;
    const phase = profile?.lifecyclePhase;
    if (
      last !== undefined &&
      last.generation === generation &&
      last.channel === channel &&
      last.segment === segment &&
      last.phase === phase
    )
      return last.row;
    // the key's tail, as cellKey builds it
    const row = this.state.row(cellKey('', channel, profile).slice(1));
    this.last = { channel, segment, phase, generation, row };
    return row;
  }

  assess(offer: CompiledOffer, channel: string, profile: Profile | undefined, learning: Learning): Assessment {
    const c = this.rowFor(channel, profile)?.get(offer.id) ?? NO_COUNTS;
    // successes beyond trials (outcomes without impressions) cannot push the estimate above what was tried
    const p = posterior(
      offer.prior[channel] ?? 0,
      learning.priorStrength,
      c.successes > c.trials ? { trials: c.trials, successes: c.trials } : c,
    );
    const mean = posteriorMean(p);
    return {
      propensity: round6(mean),
      draw: learning.exploration === 'thompson' ? sampleBeta(p.alpha, p.beta, this.rng) : mean,
    };
  }
}
