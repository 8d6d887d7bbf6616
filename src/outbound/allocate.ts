/**
 * Channel capacity allocation for an outbound batch run: which customers get which channel, at most
 * perCustomer contacts each and at most capacity[c] on channel c, maximising the total expected value.
 * Prices on the capped channels steer customers to where their margin is largest (see allocate below).
 */
import { type AllocationInput, checkInput } from './allocate-input.js';
import { byScoreDescending, type Plan } from './greedy.js';
import { Market } from './market.js';
import { byChannel, type ChannelLists, settlePrices } from './prices.js';
import { kthLargest } from './select.js';

export type { AllocationInput } from './allocate-input.js';
export { greedy, type Plan } from './greedy.js';

/** A plan with its certificate: how far it can be from the best possible. */
export interface Allocation extends Plan {
  /** an upper bound on the LP relaxation's optimum (so on any plan's total): the best Lagrangian dual found */
  readonly bound: number;
  /** (bound − total) / bound, 0 when bound is 0: the most the plan can fall short of the optimum, as a fraction */
  readonly gap: number;
  /** λ per channel at the end; 0 for an unlimited channel or one with capacity to spare */
  readonly prices: Float64Array;
  /** price sweeps run */
  readonly iterations: number;
}

export interface AllocateOptions {
  /** the most price sweeps (default 100) */
  readonly maxSweeps?: number;
  /** prices have settled when none moves by more than this times the largest score (default 1e-11) */
  readonly tolerance?: number;
}

/**
 * Price coordination: each capped channel's price λ_c is set, in turn, to one at which no more customers want it
 * than it can take, until the prices settle; each customer then takes its best net values (score − λ), a channel
 * still over keeps its largest margins, and capacity left is filled by score. Never exceeds a limit, and reports
 * the Lagrangian bound at the final prices, so `gap` says how far from the optimum the plan can be.
 */
export function allocate(input: AllocationInput, options: AllocateOptions = {}): Allocation {
  const checked = checkInput(input);
  const { customers, customer, channel, score, capacity } = input;
  const { channels, perCustomer } = checked;
  const market = new Market(input, checked);
  const lists = byChannel(input, channels);
  const { bound, iterations } = settlePrices(
    market,
    lists,
    capacity,
    options.maxSweeps ?? 100,
    options.tolerance ?? 1e-11,
  );

  const chosen = new Uint8Array(score.length);
  const taken = new Uint8Array(customers);
  for (let i = 0; i < customers; i++) taken[i] = market.assign(i, chosen);
  const used = new Uint32Array(channels);
  for (let j = 0; j < score.length; j++) used[channel[j]!]! += chosen[j]!;
  const tally: Tally = { customer, chosen, taken, used };
  let scratch: Float64Array | undefined; // for the repair, which is rare: allocated at its first need, then reused
  for (const [c, cap] of capacity.entries())
    if (cap !== undefined && used[c]! > cap)
      repair(market, lists, c, cap, tally, (scratch ??= new Float64Array(2 * lists.longest)));

  // fill: capacity the prices left idle goes, by score, to customers who still have room
  const hasRoom = (c: number) => used[c]! < (capacity[c] ?? Number.POSITIVE_INFINITY);
  const order = new Uint32Array(lists.list.length);
  let waiting = 0;
  for (const j of lists.list)
    if (!chosen[j] && taken[customer[j]!]! < perCustomer && hasRoom(channel[j]!)) order[waiting++] = j;
  for (const j of byScoreDescending(score, order, waiting)) {
    const c = channel[j]!;
    const i = customer[j]!;
    if (taken[i]! >= perCustomer || !hasRoom(c)) continue;
    chosen[j] = 1;
    taken[i]!++;
    used[c]!++;
  }

  let total = 0;
  for (let j = 0; j < score.length; j++) if (chosen[j]) total += score[j]!;
  // bound ≥ total in exact arithmetic: a negative gap would be rounding, not a better-than-optimal plan
  const gap = bound > 0 ? Math.max(0, (bound - total) / bound) : 0;
  return { chosen, total, bound, gap, prices: market.prices, used, iterations };
}

/** The plan as it is built: what is chosen, and the counts the limits are checked on. */
interface Tally {
  readonly customer: Uint32Array;
  readonly chosen: Uint8Array;
  /** chosen per customer */
  readonly taken: Uint8Array;
  /** chosen per channel */
  readonly used: Uint32Array;
}

/**
 * Brings channel c back to its capacity when prices that stopped short of settling (or exact ties) leave it over:
 * keeps the chosen candidates with the largest margins, so those who lose least elsewhere are the ones moved.
 */
function repair(
  market: Market,
  { start, list }: ChannelLists,
  c: number,
  cap: number,
  { customer, chosen, taken, used }: Tally,
  scratch: Float64Array,
): void {
  const from = start[c]!;
  const to = start[c + 1]!;
  const margin = scratch.subarray(0, to - from); // by list position; −∞ for the candidates not chosen
  const select = scratch.subarray(to - from); // the chosen margins, for quickselect to reorder
  let n = 0;
  for (let p = from; p < to; p++) {
    const chose = chosen[list[p]!] === 1;
    margin[p - from] = chose ? market.margin(list[p]!) : Number.NEGATIVE_INFINITY;
    if (chose) select[n++] = margin[p - from]!;
  }
  const threshold = cap > 0 ? kthLargest(select, n, cap - 1) : Number.POSITIVE_INFINITY;
  let ties = cap; // how many chosen at exactly the threshold may stay
  for (const m of margin) if (m > threshold) ties--;
  for (let p = from; p < to; p++) {
    const j = list[p]!;
    const m = margin[p - from]!;
    if (!chosen[j] || m > threshold || (m === threshold && ties-- > 0)) continue;
    chosen[j] = 0;
    taken[customer[j]!]!--;
    used[c]!--;
  }
}
