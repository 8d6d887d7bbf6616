import type { Profile } from '../profiles/schema.js';
import type { Learning } from '../rules/schema.js';
import type { Counts } from './posterior.js';

/** What is learned, cell by cell: offer × channel × value segment × lifecycle phase ("_" when unknown). */
export const cellKey = (
  offerId: string,
  channel: string,
  profile: Pick<Profile, 'valueSegment' | 'lifecyclePhase'> | undefined,
): string => `${offerId}|${channel}|${profile?.valueSegment ?? '_'}|${profile?.lifecyclePhase ?? '_'}`;

export const NO_COUNTS: Counts = Object.freeze({ trials: 0, successes: 0 });

/** The outcome that counts as a success on a channel. */
export const positiveOutcome = (learning: Learning | undefined, channel: string): string =>
  learning?.positive[channel] ?? (channel === 'web' ? 'click' : 'accept');

type Cells = Map<string, { trials: number; successes: number }>;

/** `offerId|rest` → [offerId, rest]; offer ids hold no "|". */
function split(key: string): [string, string] {
  const cut = key.indexOf('|');
  return cut < 0 ? [key, ''] : [key.slice(0, cut), key.slice(cut + 1)];
}

/**
 * Trials (impressions) and successes per cell, in this process. Kept by the cell's channel,
 * segment and phase first, then by offer: a decision finds its customer's row once and each
 * candidate offer is one look-up by its id, with no key string built per offer.
 */
export class LearningState {
  private rows = new Map<string, Cells>();
  /** +1 whenever a row is added or the rows are replaced: a row looked up before may be stale */
  generation = 0;

  get(key: string): Counts {
    const [offerId, rest] = split(key);
    return this.rows.get(rest)?.get(offerId) ?? NO_COUNTS;
  }

  /** Every offer's counts in one channel × segment × phase row (`channel|segment|phase`). */
  row(rest: string): ReadonlyMap<string, Counts> | undefined {
    return this.rows.get(rest);
  }

  add(key: string, trials: number, successes: number): void {
    const [offerId, rest] = split(key);
    let row = this.rows.get(rest);
    if (!row) {
      this.rows.set(rest, (row = new Map()));
      this.generation++;
    }
    const c = row.get(offerId);
    if (c) {
      c.trials += trials;
      c.successes += successes;
    } else row.set(offerId, { trials, successes });
  }

  /** Takes the shared totals (from Redis) in one assignment. */
  replace(cells: Iterable<readonly [string, Counts]>): void {
    const next = new Map<string, Cells>();
    for (const [key, c] of cells) {
      const [offerId, rest] = split(key);
      let row = next.get(rest);
      if (!row) next.set(rest, (row = new Map()));
      row.set(offerId, { trials: c.trials, successes: c.successes });
    }
    this.rows = next;
    this.generation++;
  }

  *entries(): IterableIterator<[string, Counts]> {
    for (const [rest, row] of this.rows) for (const [offerId, c] of row) yield [`${offerId}|${rest}`, c];
  }

  get size(): number {
    let n = 0;
    for (const row of this.rows.values()) n += row.size;
    return n;
  }
}
