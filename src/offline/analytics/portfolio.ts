/**
 * The customer-portfolio view (the arithmetic of docs/domain.md), from customer histories (transactions.ts).
 * Pure: the same histories and asOf give the same document.
 *
 * Definitions — this year = the 365 days up to asOf, last year = the 365 before (transactions.ts);
 * "active" = at least one purchase (amount > 0) in that year:
 * - flows: activeAtStart = active last year; retained = active both years; lost = active last
 *   year, not this year; regained = active this year, not last year, but before it; new = first
 *   purchase this year (never before); activeAtEnd = active this year. By construction
 *   activeAtStart = retained + lost and activeAtEnd = retained + regained + new.
 * - segments: the customers active this year ranked by this year's net revenue (ties by
 *   customerId) and cut at 5 / 15 / 50 / 30 % (segments.ts: boundaries round towards the better
 *   segment; a single customer is super). customers, share = customers ÷ all active this year.
 * - revenuePerCustomerPerYear = Σ this year's net revenue of the segment ÷ its customers
 *   (null when the segment has nobody).
 * - retention of a segment: the customers active LAST year, ranked by last year's net revenue and
 *   cut the same way; of that segment's customers, the share active this year. null when the
 *   segment had nobody last year.
 * - duration = 1 ÷ (1 − retention) years, at most MAX_DURATION_YEARS (retention 1 would be
 *   forever); null when retention is null.
 * - clv = revenuePerCustomerPerYear × duration; clvIndex = clv ÷ the bottom segment's clv (null
 *   when either is null or the bottom's is ≤ 0); clvTotal = clv × customers (0 for an empty
 *   segment, null when clv is null for a segment with customers).
 * - total: customers = active this year; retention = retained ÷ activeAtStart (null when nobody
 *   was active last year); duration from it; portfolioValue = Σ clvTotal; clv = portfolioValue ÷
 *   customers. A sum with an unknown term is unknown: portfolioValue and clv are null when a
 *   segment with customers has no clv; clv is null with no customers.
 * Numbers are kept at full precision; only the table rounds.
 */

import type { ValueSegment } from '../../profiles/schema.js';
import { VALUE_SEGMENTS } from '../../profiles/schema.js';
import { rankIntoSegments } from './segments.js';
import { formatDay } from './timestamps.js';
import type { CustomerHistory } from './transactions.js';

/** Retention of 1 (nobody lost) would mean an infinite tenure; 50 years is a business lifetime. */
export const MAX_DURATION_YEARS = 50;

export interface Flows {
  activeAtStart: number;
  retained: number;
  lost: number;
  regained: number;
  new: number;
  activeAtEnd: number;
}

export interface SegmentRow {
  segment: ValueSegment;
  customers: number;
  share: number;
  revenuePerCustomerPerYear: number | null;
  retention: number | null;
  duration: number | null;
  clv: number | null;
  clvIndex: number | null;
  clvTotal: number | null;
}

export interface Portfolio {
  /** the UTC date of the as-of instant, YYYY-MM-DD */
  asOf: string;
  flows: Flows;
  segments: SegmentRow[];
  total: {
    customers: number;
    retention: number | null;
    duration: number | null;
    clv: number | null;
    portfolioValue: number | null;
  };
}

/** Expected tenure in years: 1 / (1 − retention), capped at MAX_DURATION_YEARS. */
export function durationYears(retention: number): number {
  if (!(retention >= 0 && retention <= 1)) throw new RangeError(`retention must be in [0, 1], got ${retention}`);
  return retention >= 1 ? MAX_DURATION_YEARS : Math.min(MAX_DURATION_YEARS, 1 / (1 - retention));
}

export function customerFlows(histories: Iterable<CustomerHistory>): Flows {
  const f: Flows = { activeAtStart: 0, retained: 0, lost: 0, regained: 0, new: 0, activeAtEnd: 0 };
  for (const h of histories) {
    if (h.activeLastYear) {
      f.activeAtStart++;
      if (h.activeThisYear) f.retained++;
      else f.lost++;
    }
    if (h.activeThisYear) {
      f.activeAtEnd++;
      if (!h.activeLastYear) {
        if (h.activeBefore) f.regained++;
        else f.new++;
      }
    }
  }
  return f;
}

const id = (h: CustomerHistory): string => h.customerId;

/** Per segment, the share of last year's segment still active this year; null for an empty segment. */
export function segmentRetention(lastYearActive: readonly CustomerHistory[]): Record<ValueSegment, number | null> {
  const ranked = rankIntoSegments(lastYearActive, (h) => h.lastYear, id);
  const out = { super: null, top: null, middle: null, bottom: null } as Record<ValueSegment, number | null>;
  for (const s of VALUE_SEGMENTS) {
    const members = ranked[s];
    if (members.length > 0) out[s] = members.filter((h) => h.activeThisYear).length / members.length;
  }
  return out;
}

export function portfolio(histories: Iterable<CustomerHistory>, asOf: number): Portfolio {
  const all = Array.from(histories);
  const flows = customerFlows(all);
  const thisYear = rankIntoSegments(
    all.filter((h) => h.activeThisYear),
    (h) => h.thisYear,
    id,
  );
  const retention = segmentRetention(all.filter((h) => h.activeLastYear));
  const customers = flows.activeAtEnd;
  const segments: SegmentRow[] = VALUE_SEGMENTS.map((segment) => {
    const members = thisYear[segment];
    const n = members.length;
    const revenue = n === 0 ? null : members.reduce((sum, h) => sum + h.thisYear, 0) / n;
    const r = retention[segment];
    const duration = r === null ? null : durationYears(r);
    const clv = revenue === null || duration === null ? null : revenue * duration;
    return {
      segment,
      customers: n,
      share: customers === 0 ? 0 : n / customers,
      revenuePerCustomerPerYear: revenue,
      retention: r,
      duration,
      clv,
      clvIndex: null,
      clvTotal: n === 0 ? 0 : clv === null ? null : clv * n,
    };
  });
  const bottomClv = segments[segments.length - 1]!.clv;
  for (const row of segments)
    row.clvIndex = row.clv === null || bottomClv === null || bottomClv <= 0 ? null : row.clv / bottomClv;
  const unknown = segments.some((row) => row.clvTotal === null);
  const portfolioValue = unknown ? null : segments.reduce((sum, row) => sum + row.clvTotal!, 0);
  const totalRetention = flows.activeAtStart === 0 ? null : flows.retained / flows.activeAtStart;
  return {
    asOf: formatDay(asOf),
    flows,
    segments,
    total: {
      customers,
      retention: totalRetention,
      duration: totalRetention === null ? null : durationYears(totalRetention),
      clv: portfolioValue === null || customers === 0 ? null : portfolioValue / customers,
      portfolioValue,
    },
  };
}
