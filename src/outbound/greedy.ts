import { type AllocationInput, checkInput } from './allocate-input.js';

/** A plan: which candidates are chosen, their total score and how many each channel takes. */
export interface Plan {
  /** 1 where the candidate is chosen, per candidate */
  readonly chosen: Uint8Array;
  /** the sum of the chosen scores */
  readonly total: number;
  /** chosen candidates per channel */
  readonly used: Uint32Array;
}

/** Positive-score candidates from `count` listed in `order`, by score descending (ties by index, for a stable plan). */
export function byScoreDescending(score: Float64Array, order: Uint32Array, count: number): Uint32Array {
  return order.subarray(0, count).sort((a, b) => score[b]! - score[a]! || a - b);
}

/**
 * Takes candidates by score, highest first, while the customer and the channel have room: the baseline
 * allocate is measured against (it gives a tight channel to the highest scores, not to the largest margins).
 */
export function greedy(input: AllocationInput): Plan {
  const { channels, perCustomer } = checkInput(input);
  const { customers, customer, channel, score, capacity } = input;
  const order = new Uint32Array(score.length);
  let count = 0;
  for (let j = 0; j < score.length; j++) if (score[j]! > 0) order[count++] = j;
  const chosen = new Uint8Array(score.length);
  const taken = new Uint8Array(customers);
  const used = new Uint32Array(channels);
  let total = 0;
  for (const j of byScoreDescending(score, order, count)) {
    const c = channel[j]!;
    const i = customer[j]!;
    if (taken[i]! >= perCustomer || used[c]! >= (capacity[c] ?? Number.POSITIVE_INFINITY)) continue;
    chosen[j] = 1;
    taken[i]!++;
    used[c]!++;
    total += score[j]!;
  }
  return { chosen, total, used };
}
