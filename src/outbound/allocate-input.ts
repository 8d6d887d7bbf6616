/** The candidates of an outbound batch run, as flat typed arrays: one entry per (customer, channel) pair. */
export interface AllocationInput {
  /** N: customers are numbered 0..N-1 */
  readonly customers: number;
  /** each candidate's customer; a customer's candidates are contiguous and sorted by customer */
  readonly customer: Uint32Array;
  /** each candidate's channel, 0..K-1; at most one candidate per customer × channel */
  readonly channel: Uint8Array;
  /** each candidate's expected value; a score ≤ 0 is never chosen */
  readonly score: Float64Array;
  /** per channel (K = its length, ≤ 8): the most candidates it may take, or undefined for unlimited */
  readonly capacity: readonly (number | undefined)[];
  /** the most contacts per customer, 1..4 (default 1) */
  readonly perCustomer?: number;
}

/** What allocate and greedy share once the input is checked. */
export interface Checked {
  /** K */
  readonly channels: number;
  /** perCustomer, defaulted */
  readonly perCustomer: number;
  /** customer i's candidates are starts[i]..starts[i+1] */
  readonly starts: Uint32Array;
}

export const MAX_CHANNELS = 8;
export const MAX_PER_CUSTOMER = 4;

/** Rejects malformed input (a bug upstream, better loud than a silently wrong plan) and indexes the customers. */
export function checkInput(input: AllocationInput): Checked {
  const { customers, customer, channel, score, capacity } = input;
  const perCustomer = input.perCustomer ?? 1;
  const channels = capacity.length;
  const m = customer.length;
  if (!Number.isInteger(customers) || customers < 0) throw new RangeError(`customers must be an integer ≥ 0`);
  if (channel.length !== m || score.length !== m) throw new RangeError('customer, channel and score differ in length');
  if (channels < 1 || channels > MAX_CHANNELS) throw new RangeError(`1..${MAX_CHANNELS} channels, got ${channels}`);
  if (!Number.isInteger(perCustomer) || perCustomer < 1 || perCustomer > MAX_PER_CUSTOMER)
    throw new RangeError(`perCustomer must be an integer in 1..${MAX_PER_CUSTOMER}, got ${perCustomer}`);
  for (const [c, cap] of capacity.entries())
    if (cap !== undefined && !(Number.isInteger(cap) && cap >= 0))
      throw new RangeError(`capacity[${c}] must be an integer ≥ 0 or undefined, got ${cap}`);
  const starts = new Uint32Array(customers + 1);
  let previous = -1;
  let seen = 0; // bitmask of the current customer's channels, to catch a duplicate pair
  for (let j = 0; j < m; j++) {
    const i = customer[j]!;
    const c = channel[j]!;
    if (i >= customers) throw new RangeError(`candidate ${j}: customer ${i} is not below ${customers}`);
    if (i < previous) throw new RangeError(`candidate ${j}: customers are not sorted`);
    if (c >= channels) throw new RangeError(`candidate ${j}: channel ${c} is not below ${channels}`);
    if (!Number.isFinite(score[j]!)) throw new RangeError(`candidate ${j}: score ${score[j]} is not finite`);
    if (i !== previous) seen = 0;
    if (seen & (1 << c)) throw new RangeError(`candidate ${j}: customer ${i} has channel ${c} twice`);
    seen |= 1 << c;
    previous = i;
    starts[i + 1]!++;
  }
  for (let i = 0; i < customers; i++) starts[i + 1]! += starts[i]!;
  return { channels, perCustomer, starts };
}
