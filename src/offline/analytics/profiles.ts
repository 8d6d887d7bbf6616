import type { LifecyclePhase, Profile, ValueSegment } from '../../profiles/schema.js';
import {
  type BgNbdParameters,
  churnScore,
  DEFAULT_BG_NBD_PARAMETERS,
  fitBgNbd,
  type RecencyFrequency,
} from './churn.js';
import { type Portfolio, portfolio } from './portfolio.js';
import { rankIntoSegments } from './segments.js';
import { DAY_MS } from './timestamps.js';
import type { CustomerHistory } from './transactions.js';

/** The lifecycle thresholds; every one a flag of `nextbest profiles build`. */
export interface PhaseSettings {
  /** a first purchase at most this many days ago: `new` */
  readonly newDays: number;
  /** no purchase for more than this many days (or none this year): `regain` */
  readonly lapsedDays: number;
  /** a churn score at least this: `retain` */
  readonly atRisk: number;
}

export const DEFAULT_PHASES: PhaseSettings = { newDays: 100, lapsedDays: 180, atRisk: 0.5 };

/**
 * The churn model is fitted to every customer up to this many (about a second on one core),
 * and to an even sample of exactly this many beyond: four parameters need no more.
 */
export const FIT_SAMPLE = 100_000;

/** Exactly `size` of `items`, evenly spread (all of them when there are no more). */
export function evenSample<T>(items: readonly T[], size: number): T[] {
  if (items.length <= size) return [...items];
  return Array.from({ length: size }, (_, i) => items[Math.floor((i * items.length) / size)]!);
}
/** Enough for data the model fits (a few hundred are typical); data it cannot identify stop here. */
export const FIT_ITERATIONS = 2_000;

export interface BuildSettings extends PhaseSettings {
  readonly asOf: number;
  /** transactions carry no consents: every profile gets these channels */
  readonly consents: readonly string[];
  /** the churn fit's iteration cap (default FIT_ITERATIONS) */
  readonly fitIterations?: number;
}

export interface BuiltProfiles {
  readonly profiles: Profile[];
  readonly portfolio: Portfolio;
  readonly churnModel: { readonly params: BgNbdParameters; readonly converged: boolean; readonly reason?: string };
  /** customers with refunds only, no purchase: no profile */
  readonly skipped: number;
}

const days = (ms: number) => Math.floor(ms / DAY_MS);
const round = (x: number, places: number) => Math.round(x * 10 ** places) / 10 ** places;

/** A customer's history in the churn model's terms: whole days (they group well for the fit). */
export function recencyFrequency(h: CustomerHistory, asOf: number): RecencyFrequency {
  return { x: Math.max(0, h.purchaseDays - 1), tx: days(h.last) - days(h.first), T: days(asOf) - days(h.first) };
}

/** The phase by the documented rules, in this order: new, regain, retain, loyalty. */
export function phaseOf(h: CustomerHistory, churn: number, asOf: number, s: PhaseSettings): LifecyclePhase {
  if (days(asOf) - days(h.first) <= s.newDays) return 'new';
  if (!h.activeThisYear || days(asOf) - days(h.last) > s.lapsedDays) return 'regain';
  if (churn >= s.atRisk) return 'retain';
  return 'loyalty';
}

/**
 * One profile per customer who ever purchased. Value segment: this year's revenue rank (as in
 * the portfolio) for customers active this year; last year's rank for those active last year
 * only; bottom for those gone longer. CLV = the customer's own annual revenue (this year's, or
 * last year's for a customer lost since) × the duration of their segment (at least 0). Churn
 * score = 1 − P(alive) from a BG/NBD model fitted to all customers.
 */
export function buildProfiles(histories: Map<string, CustomerHistory>, s: BuildSettings): BuiltProfiles {
  const buyers = [...histories.values()].filter((h) => !Number.isNaN(h.first));
  const segmentOf = new Map<string, ValueSegment>();
  const assign = (list: CustomerHistory[], revenue: (h: CustomerHistory) => number) => {
    const ranked = rankIntoSegments(list, revenue, (h) => h.customerId);
    for (const [segment, members] of Object.entries(ranked) as [ValueSegment, CustomerHistory[]][])
      for (const h of members) if (!segmentOf.has(h.customerId)) segmentOf.set(h.customerId, segment);
  };
  assign(
    buyers.filter((h) => h.activeThisYear),
    (h) => h.thisYear,
  );
  assign(
    buyers.filter((h) => h.activeLastYear),
    (h) => h.lastYear,
  );
  const book = portfolio(histories.values(), s.asOf);
  const duration = new Map(
    book.segments.map((row) => [row.segment, row.duration ?? book.total.duration ?? 1] as const),
  );
  const fitted = fitBgNbd(
    evenSample(buyers, FIT_SAMPLE).map((h) => recencyFrequency(h, s.asOf)),
    { maxIterations: s.fitIterations ?? FIT_ITERATIONS },
  );
  // a fit that did not settle is no estimate: the published one is safer than its last point
  const fit =
    fitted.converged || fitted.params === DEFAULT_BG_NBD_PARAMETERS
      ? fitted
      : {
          ...fitted,
          params: DEFAULT_BG_NBD_PARAMETERS,
          reason: `no convergence within ${s.fitIterations ?? FIT_ITERATIONS} iterations: using the published estimates`,
        };
  const profiles = buyers.map((h): Profile => {
    const valueSegment = segmentOf.get(h.customerId) ?? 'bottom';
    const churn = churnScore(recencyFrequency(h, s.asOf), fit.params);
    const revenue = h.activeThisYear ? h.thisYear : h.activeLastYear ? h.lastYear : 0;
    return {
      customerId: h.customerId,
      valueSegment,
      lifecyclePhase: phaseOf(h, churn, s.asOf, s),
      clv: round(Math.max(0, revenue * (duration.get(valueSegment) ?? 1)), 2),
      churnScore: round(churn, 4),
      tenureDays: Math.max(0, days(s.asOf) - days(h.first)),
      annualRevenue: round(h.thisYear, 2),
      productsHeld: [...h.products].sort().slice(0, 100),
      consents: [...s.consents],
      attributes: {
        daysSinceLastPurchase: Math.max(0, days(s.asOf) - days(h.last)),
        purchaseDays: h.purchaseDays,
        revenueLastYear: round(h.lastYear, 2),
      },
    };
  });
  return {
    profiles,
    portfolio: book,
    churnModel: { params: fit.params, converged: fit.converged, ...(fit.reason && { reason: fit.reason }) },
    skipped: histories.size - buyers.length,
  };
}
