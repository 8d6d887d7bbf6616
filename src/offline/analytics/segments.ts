import type { ValueSegment } from '../../profiles/schema.js';
import { VALUE_SEGMENTS } from '../../profiles/schema.js';

/** Cumulative shares of the revenue ranking in percent, best first: super 5, top 15, middle 50, bottom 30. */
const CUMULATIVE_PERCENT: Readonly<Record<ValueSegment, number>> = { super: 5, top: 20, middle: 70, bottom: 100 };

/**
 * Segment sizes for n ranked customers. The customer at 1-based rank r goes to the first
 * segment whose cumulative share exceeds (r − 1) / n — the share of the base ranked above them:
 * super holds ceil(5 % · n) customers, super + top ceil(20 % · n), and so on. Every customer is in
 * exactly one segment, the boundaries round towards the better segment, and one customer alone
 * is super (1 → 1/0/0/0, 2 → 1/0/1/0, 4 → 1/0/2/1, 20 → 1/3/10/6, 101 → 6/15/50/30).
 */
export function segmentSizes(n: number): Record<ValueSegment, number> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const sizes = { super: 0, top: 0, middle: 0, bottom: 0 };
  let assigned = 0;
  for (const segment of VALUE_SEGMENTS) {
    // n · percent is an exact integer, so the ceiling of its hundredth is exact too
    const upTo = Math.ceil((n * CUMULATIVE_PERCENT[segment]) / 100);
    sizes[segment] = upTo - assigned;
    assigned = upTo;
  }
  return sizes;
}

/**
 * Ranks items by revenue, highest first, ties by id (code-unit order, so the result never
 * depends on the locale), and cuts the ranking per segmentSizes. Returns the items of each
 * segment, best first.
 */
export function rankIntoSegments<T>(
  items: readonly T[],
  revenue: (item: T) => number,
  id: (item: T) => string,
): Record<ValueSegment, T[]> {
  const ranked = items.slice().sort((a, b) => {
    const diff = revenue(b) - revenue(a);
    if (diff !== 0) return diff;
    const x = id(a),
      y = id(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const sizes = segmentSizes(ranked.length);
  const out = { super: [] as T[], top: [] as T[], middle: [] as T[], bottom: [] as T[] };
  let from = 0;
  for (const segment of VALUE_SEGMENTS) {
    out[segment] = ranked.slice(from, from + sizes[segment]);
    from += sizes[segment];
  }
  return out;
}
