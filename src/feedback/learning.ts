import type { Assessment, PropensityModel } from '../decision/propensity.js';
import type { Profile } from '../profiles/schema.js';
import type { CompiledOffer } from '../rules/ruleset.js';
import type { Learning } from '../rules/schema.js';
import { posterior, posteriorMean, sampleBeta, type Counts, type Rng } from './bandit.js';

/** What is learned, cell by cell: offer × channel × value segment × lifecycle phase ("_" when unknown). */
export const cellKey = (offerId: string, channel: string, profile: Pick<Profile, 'valueSegment' | 'lifecyclePhase'> | undefined): string =>
  `${offerId}|${channel}|${profile?.valueSegment ?? '_'}|${profile?.lifecyclePhase ?? '_'}`;

const NONE: Counts = Object.freeze({ trials: 0, successes: 0 });

/** The outcome that counts as a success on a channel. */
export const positiveOutcome = (learning: Learning, channel: string): string => learning.positive[channel] ?? (channel === 'web' ? 'click' : 'accept');

/** Trials (impressions) and successes per cell, in this process. */
export class LearningState {
  private cells = new Map<string, { trials: number; successes: number }>();

  get(key: string): Counts {
    return this.cells.get(key) ?? NONE;
  }

  add(key: string, trials: number, successes: number): void {
    const c = this.cells.get(key);
    if (c) {
      c.trials += trials;
      c.successes += successes;
    } else this.cells.set(key, { trials, successes });
  }

  /** Takes the shared totals (from Redis) in one assignment. */
  replace(cells: Iterable<readonly [string, Counts]>): void {
    const next = new Map<string, { trials: number; successes: number }>();
    for (const [key, c] of cells) next.set(key, { trials: c.trials, successes: c.successes });
    this.cells = next;
  }

  entries(): IterableIterator<[string, Counts]> {
    return this.cells.entries();
  }

  get size(): number {
    return this.cells.size;
  }
}

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

  assess(offer: CompiledOffer, channel: string, profile: Profile | undefined, learning: Learning): Assessment {
    const c = this.state.get(cellKey(offer.id, channel, profile));
    // successes beyond trials (outcomes without impressions) cannot push the estimate above what was tried
    const p = posterior(offer.prior[channel] ?? 0, learning.priorStrength, c.successes > c.trials ? { trials: c.trials, successes: c.trials } : c);
    const mean = posteriorMean(p);
    return { propensity: round6(mean), draw: learning.exploration === 'thompson' ? sampleBeta(p.alpha, p.beta, this.rng) : mean };
  }
}
