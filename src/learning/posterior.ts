export interface Counts {
  readonly trials: number;
  readonly successes: number;
}
export interface Posterior {
  readonly alpha: number;
  readonly beta: number;
}

const MIN_PRIOR = 0.001;
const MAX_PRIOR = 0.999;

/**
 * The posterior over an offer's success probability: the prior propensity p, held with the
 * weight of `strength` pseudo-trials, updated by observed trials and successes:
 * alpha = p·strength + successes, beta = (1 − p)·strength + max(0, trials − successes).
 * p is clamped to [0.001, 0.999] so both parameters stay positive.
 */
export function posterior(prior: number, strength: number, counts: Counts): Posterior {
  // biome-ignore-start lint/complexity/useMathMinMax: comparisons send a NaN to the bound, where Math.min and Math.max would pass it on
  const p = prior > MAX_PRIOR ? MAX_PRIOR : prior >= MIN_PRIOR ? prior : MIN_PRIOR; // NaN falls to MIN_PRIOR
  const successes = counts.successes > 0 ? counts.successes : 0; // corrupt negative counts must not push alpha ≤ 0
  const failures = counts.trials - successes;
  return { alpha: p * strength + successes, beta: (1 - p) * strength + (failures > 0 ? failures : 0) };
  // biome-ignore-end lint/complexity/useMathMinMax: -
}

export const posteriorMean = (p: Posterior): number => p.alpha / (p.alpha + p.beta);
