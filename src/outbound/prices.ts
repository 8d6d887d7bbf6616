import type { AllocationInput } from './allocate-input.js';
import type { Market } from './market.js';
import { kthLargest } from './select.js';

/** The positive-score candidates grouped by channel: channel c's are list[start[c]..start[c+1]). */
export interface ChannelLists {
  readonly start: Uint32Array;
  readonly list: Uint32Array;
  /** the most candidates on one channel: the size of the margin scratch */
  readonly longest: number;
}

/** A counting sort of the positive-score candidates by channel, so a channel's pass touches only its own. */
export function byChannel({ channel, score }: AllocationInput, channels: number): ChannelLists {
  const start = new Uint32Array(channels + 1);
  for (let j = 0; j < score.length; j++) if (score[j]! > 0) start[channel[j]! + 1]!++;
  let longest = 0;
  for (let c = 0; c < channels; c++) {
    longest = Math.max(longest, start[c + 1]!);
    start[c + 1]! += start[c]!;
  }
  const list = new Uint32Array(start[channels]!);
  const next = start.slice(0, channels);
  for (let j = 0; j < score.length; j++) if (score[j]! > 0) list[next[channel[j]!]!++] = j;
  return { start, list, longest };
}

export interface Settled {
  /** the Lagrangian dual at the settled prices, on the true scores: the lowest seen, as the sweeps only lower it */
  readonly bound: number;
  readonly iterations: number;
}

/** Sweeps whose largest move is below this share of the top score are a price war: try a longer stride. */
const WAR = 1e-3;
/** The longest stride tried, in multiples of the last sweep's move. */
const MAX_STRIDE = 1 << 24;

/**
 * Sets the prices of the capped channels in market.prices by coordinate descent on the Lagrangian dual: each
 * channel in turn gets a price that clears it given the others, until no price moves by more than `tolerance` times
 * the top value.
 */
export function settlePrices(
  market: Market,
  { start, list, longest }: ChannelLists,
  capacity: AllocationInput['capacity'],
  maxSweeps: number,
  tolerance: number,
): Settled {
  const settled = tolerance * market.topValue;
  const { prices, value } = market;
  const margins = new Float64Array(longest); // quickselect scratch, reordered freely
  const before = new Float64Array(prices.length);
  const base = new Float64Array(prices.length);
  const priced: number[] = [];
  for (const [c, cap] of capacity.entries()) {
    if (cap === undefined) continue;
    if (cap > 0) priced.push(c);
    // capacity 0 closes a channel: at its top value no net value is positive, and the sweeps can skip it
    else for (const j of list.subarray(start[c]!, start[c + 1]!)) prices[c] = Math.max(prices[c]!, value[j]!);
  }
  let iterations = 0;
  while (priced.length > 0 && iterations < maxSweeps) {
    iterations++;
    before.set(prices);
    let moved = 0;
    for (const c of priced) {
      let n = 0;
      for (let p = start[c]!; p < start[c + 1]!; p++) {
        const m = market.margin(list[p]!);
        if (m > 0) margins[n++] = m;
      }
      const cap = capacity[c]!;
      const next = n <= cap ? 0 : clearingPrice(margins, n, cap);
      moved = Math.max(moved, Math.abs(next - prices[c]!));
      prices[c] = next;
    }
    if (
      moved > settled &&
      moved < WAR * market.topValue &&
      iterations > 1 &&
      priced.every((c) => prices[c]! >= before[c]!)
    ) {
      // prices rising together by small steps: customers passed back and forth between channels; stride along the sweep
      base.set(prices);
      let best = market.dualBound(value);
      let stride = 0;
      for (let t = 1; t <= MAX_STRIDE; t *= 2) {
        for (const c of priced) prices[c] = Math.max(0, base[c]! + t * (base[c]! - before[c]!));
        const q = market.dualBound(value);
        if (q > best) break;
        best = q;
        stride = t;
      }
      for (const c of priced) prices[c] = Math.max(0, base[c]! + stride * (base[c]! - before[c]!));
    }
    if (moved <= settled) break;
  }
  // every step lowers the dual (each sweep step is a coordinate minimum, a stride is taken only when it lowers it),
  // so the last prices are the best found: one pass prices them on the true scores
  return { bound: market.dualBound(), iterations };
}

/**
 * A price for a channel its margins over-demand: demand at λ is #{margin > λ}, so any λ from the (cap+1)-th largest
 * margin up to the cap-th clears it. Midway, not at the bottom, so the marginal customer is never left exactly
 * indifferent between two capped channels, a tie that would stall the sweeps with both channels short of the optimum.
 */
function clearingPrice(margins: Float64Array, n: number, cap: number): number {
  const low = kthLargest(margins, n, cap);
  let high = Number.POSITIVE_INFINITY;
  for (let p = 0; p < cap; p++) high = Math.min(high, margins[p]!);
  return low + (high - low) / 2;
}
