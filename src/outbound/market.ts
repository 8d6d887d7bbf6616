import { mixSeed } from '../math/random.js';
import type { AllocationInput, Checked } from './allocate-input.js';

/** Relative size of the tie-breaking nudge: far below any score difference that matters, far above rounding. */
const NUDGE = 1e-7;

/**
 * The customers' side of the price coordination: what each customer would take at the current channel prices.
 * One per run; its scratch is allocated once, so the per-candidate loops make no objects.
 */
export class Market {
  /** λ per channel: what a contact on the channel costs in the customer's net value (score − λ) */
  readonly prices: Float64Array;
  /**
   * The scores the prices are set on, each nudged up by a fixed pseudo-random fraction below NUDGE: tied scores would
   * leave customers exactly indifferent at the clearing prices and stall the sweeps; nudged, every tie has a winner.
   */
  readonly value: Float64Array;
  /** the largest value: the scale prices and tolerances are measured on */
  readonly topValue: number;
  private readonly top: Float64Array;

  constructor(
    private readonly input: AllocationInput,
    private readonly checked: Checked,
  ) {
    this.prices = new Float64Array(checked.channels);
    this.top = new Float64Array(checked.perCustomer);
    const { score } = input;
    this.value = new Float64Array(score.length);
    let topValue = 0;
    for (let j = 0; j < score.length; j++) {
      // a mixing hash of the index: reproducible, and (unlike a multiplicative one) no constant step between neighbours
      const u = mixSeed(j, 0x6e75) / 4294967296;
      this.value[j] = score[j]! > 0 ? score[j]! * (1 + NUDGE * u) : score[j]!;
      topValue = Math.max(topValue, this.value[j]!);
    }
    this.topValue = topValue;
  }

  /** Fills `top` with customer i's best positive net values of `score`, descending, 0 where it has fewer; `skip` is left out. */
  private rank(i: number, skip: number, score: Float64Array): void {
    const { channel } = this.input;
    const { starts, perCustomer } = this.checked;
    const { top, prices } = this;
    top.fill(0);
    const last = perCustomer - 1;
    for (let j = starts[i]!, end = starts[i + 1]!; j < end; j++) {
      if (j === skip) continue;
      const v = score[j]! - prices[channel[j]!]!;
      if (!(v > top[last]!)) continue;
      // insertion into a list of at most 4, cheaper than any heap
      let k = last;
      for (; k > 0 && v > top[k - 1]!; k--) top[k] = top[k - 1]!;
      top[k] = v;
    }
  }

  /** Candidate j's margin: its value over the customer's best alternative (the perCustomer-th best other net value, or 0). */
  margin(j: number): number {
    if (this.checked.perCustomer === 1) return this.marginOfOne(j);
    this.rank(this.input.customer[j]!, j, this.value);
    return this.value[j]! - this.top[this.checked.perCustomer - 1]!;
  }

  /** margin() for one contact per customer, the common case: the alternative is just the best other net value. */
  private marginOfOne(j: number): number {
    const { customer, channel } = this.input;
    const { starts } = this.checked;
    const { value, prices } = this;
    const i = customer[j]!;
    let alternative = 0;
    for (let k = starts[i]!, end = starts[i + 1]!; k < end; k++) {
      const net = value[k]! - prices[channel[k]!]!;
      if (k !== j && net > alternative) alternative = net;
    }
    return value[j]! - alternative;
  }

  /**
   * The Lagrangian dual at the current prices, on the true scores: Σ λ_c·cap_c + Σ_i (its top perCustomer positive
   * net values). Any prices ≥ 0 make it ≥ the LP optimum, so it certifies how far a plan can be from the best.
   */
  dualBound(score: Float64Array = this.input.score): number {
    const { capacity, customers } = this.input;
    let bound = 0;
    for (let c = 0; c < capacity.length; c++) if (capacity[c] !== undefined) bound += this.prices[c]! * capacity[c]!;
    for (let i = 0; i < customers; i++) {
      this.rank(i, -1, score);
      for (let k = 0; k < this.top.length; k++) bound += this.top[k]!;
    }
    return bound;
  }

  /** Chooses customer i's top perCustomer positive net values; returns how many. */
  assign(i: number, chosen: Uint8Array): number {
    const { channel } = this.input;
    const { starts, perCustomer } = this.checked;
    const { prices, value } = this;
    const begin = starts[i]!;
    const end = starts[i + 1]!;
    let taken = 0;
    for (; taken < perCustomer; taken++) {
      let best = -1;
      let bestNet = 0;
      for (let j = begin; j < end; j++) {
        const net = value[j]! - prices[channel[j]!]!;
        if (!chosen[j] && net > bestNet) {
          best = j;
          bestNet = net;
        }
      }
      if (best < 0) break;
      chosen[best] = 1;
    }
    return taken;
  }
}
