/**
 * A seeded transaction history whose portfolio is known in advance (`demo-data --transactions`).
 *
 * For N = `customers` and an as-of day D, over the three years of 365 days up to D (year 2, the
 * year before last; year 1, last year; year 0, this year — the windows of transactions.ts):
 * - the base, C0000001…C{N}: all active last year, in segments of exactly segmentSizes(N)
 *   (5/15/50/30 %, randomly spread over the ids); 70 % were customers all of year 2, the others
 *   joined during year 2 or last year. Each stays active this year with its segment's retention
 *   (SEGMENT_RETENTION: 92/88/80/65 %); a lost one buys nothing this year (15 % get a small
 *   refund, which does not make them active). Of those who stay, DEMO_AT_RISK_SHARE (15 %) buy
 *   their year's revenue in its first 6–9 months and nothing since: at risk.
 * - the newcomers, C{N+1}…: as many as the base lost, so the base keeps its size; 30 % are
 *   regained (active in part of year 2, not last year), the rest new; their segments fill what the
 *   lost left empty, so this year's active customers are again exactly segmentSizes(N).
 * - each customer has one net revenue per year, DEMO_REVENUE_PER_YEAR of their segment ± up to
 *   20 %, the same in every year they are active: the segments' ranges do not overlap, so ranking
 *   by either year's revenue recovers every customer's segment. It is spread to the cent over
 *   about one purchase per active month (5 % of months none, 10 % two); 3 % of purchases are
 *   partly refunded days later in the same year (the purchase is raised by the refund, so the
 *   year's net revenue does not move).
 * - products from the profile demo's catalogue (each customer holds a few; 8 % of lines name
 *   none); `at` is a date for 60 % of lines, else a daytime date-time with Z or an offset that
 *   keeps it on the same UTC day.
 * Lines come customer by customer, each customer's in day order. Only two bytes per customer
 * are held (the plan), so any number of transactions streams.
 */
import { mixSeed } from '../../math/random.js';
import type { ValueSegment } from '../../profiles/schema.js';
import { VALUE_SEGMENTS } from '../../profiles/schema.js';
import { segmentSizes } from '../analytics/segments.js';
import { DAY_MS, formatDay } from '../analytics/timestamps.js';
import { PRODUCTS, SEGMENT_RETENTION } from './profiles.js';
import { Random } from './random.js';

export interface TransactionDemoOptions {
  /** the base: customers active last year */
  readonly customers: number;
  readonly seed: number;
  /** the as-of instant, epoch ms; the history ends on its UTC day */
  readonly asOf: number;
}

export interface DemoTransaction {
  customerId: string;
  at: string;
  amount: number;
  product?: string;
}

export const DEMO_REVENUE_PER_YEAR: Readonly<Record<ValueSegment, number>> = Object.freeze({
  super: 4000,
  top: 1500,
  middle: 500,
  bottom: 150,
});
export const DEMO_REVENUE_SPREAD = 0.2;
export const DEMO_REGAINED_SHARE = 0.3;
/** of the customers who stay, the share whose purchases stop 3–6 months before the as-of day */
export const DEMO_AT_RISK_SHARE = 0.15;
const LONG_STANDING = 0.7;
const LOST_REFUND = 0.15;
const REFUND = 0.03;
const NO_PRODUCT = 0.08;
const DATE_ONLY = 0.6;
const OFFSETS = ['Z', '+01:00', '+02:00', '-05:00'] as const; // with hours 08–18 the UTC day stays the same

/** What a customer does in the demo: 0 stays, 1 is lost, 2 is new this year, 3 is regained. */
export const Kind = { Stays: 0, Lost: 1, New: 2, Regained: 3 } as const;

/** Who is who, decided before any line is written: segment and kind per customer index. */
export interface DemoPlan {
  readonly base: number;
  readonly newcomers: number;
  readonly segmentOf: Uint8Array;
  readonly kindOf: Uint8Array;
  readonly sizes: Record<ValueSegment, number>;
  readonly retained: Record<ValueSegment, number>;
  readonly regained: number;
  readonly new: number;
}

/** Draws an index with probability remaining[i] / Σ remaining and takes one from it (sampling without replacement). */
function takeOne(rng: Random, remaining: number[]): number {
  let r = rng.int(0, remaining.reduce((a, b) => a + b, 0) - 1);
  for (let i = 0; i < remaining.length; i++) {
    if (r < remaining[i]!) {
      remaining[i]!--;
      return i;
    }
    r -= remaining[i]!;
  }
  throw new Error('takeOne: nothing left');
}

export function planDemo(customers: number, seed: number): DemoPlan {
  if (!Number.isSafeInteger(customers) || customers < 0)
    throw new RangeError(`customers must be a non-negative integer, got ${customers}`);
  const sizes = segmentSizes(customers);
  const remaining = VALUE_SEGMENTS.map((s) => sizes[s]);
  const segmentRng = new Random(mixSeed(seed, 0x5e6));
  const base = new Uint8Array(customers);
  const stays = new Uint8Array(customers);
  const retained = { super: 0, top: 0, middle: 0, bottom: 0 };
  for (let i = 0; i < customers; i++) {
    const s = takeOne(segmentRng, remaining);
    base[i] = s;
    const segment = VALUE_SEGMENTS[s]!;
    // the customer's own stream: its first draw decides whether it stays (iterate replays it)
    if (new Random(mixSeed(seed, i)).next() < SEGMENT_RETENTION[segment]) {
      stays[i] = 1;
      retained[segment]++;
    }
  }
  const newcomers = customers - VALUE_SEGMENTS.reduce((n, s) => n + retained[s], 0);
  const gaps = VALUE_SEGMENTS.map((s) => sizes[s] - retained[s]);
  const segmentOf = new Uint8Array(customers + newcomers);
  const kindOf = new Uint8Array(customers + newcomers);
  segmentOf.set(base);
  for (let i = 0; i < customers; i++) kindOf[i] = stays[i] ? Kind.Stays : Kind.Lost;
  const newcomerRng = new Random(mixSeed(seed, 0x4e3));
  let regained = 0;
  for (let j = customers; j < customers + newcomers; j++) {
    segmentOf[j] = takeOne(newcomerRng, gaps);
    const back = newcomerRng.chance(DEMO_REGAINED_SHARE);
    kindOf[j] = back ? Kind.Regained : Kind.New;
    if (back) regained++;
  }
  return { base: customers, newcomers, segmentOf, kindOf, sizes, retained, regained, new: newcomers - regained };
}

export const demoCustomerId = (index: number): string => `C${String(index + 1).padStart(7, '0')}`;

function drawProducts(rng: Random, segment: ValueSegment): string[] {
  const appetite = segment === 'super' ? 2 : segment === 'top' ? 1.5 : segment === 'middle' ? 1 : 0.6;
  const odds = [0.85, 0.35, 0.25, 0.2, 0.15, 0.1, 0.1, 0.08, 0.1, 0.06]; // in PRODUCTS order
  const held = PRODUCTS.filter((_, k) => rng.chance(k === 0 ? odds[0]! : Math.min(0.9, odds[k]! * appetite)));
  return held.length > 0 ? held : ['mobile'];
}

interface Line {
  day: number;
  cents: number;
}

/** One customer's lines for one year: about one purchase per month from `from` to `to`, summing to `cents`. */
function yearLines(rng: Random, yearStart: number, from: number, to: number, cents: number, out: Line[]): void {
  const monthDay = (m: number): number => yearStart + Math.floor((m * 365) / 12);
  const days: number[] = [];
  for (let m = from; m <= to; m++) {
    const u = rng.next();
    const k = u < 0.05 ? 0 : u < 0.9 ? 1 : 2;
    for (let n = 0; n < k; n++) days.push(rng.int(monthDay(m), monthDay(m + 1) - 1));
  }
  if (days.length === 0) days.push(rng.int(monthDay(from), monthDay(from + 1) - 1));
  const weights = days.map(() => 0.6 + 0.8 * rng.next());
  const total = weights.reduce((a, b) => a + b, 0);
  let left = cents;
  const yearEnd = yearStart + 364;
  days.forEach((day, k) => {
    let amount = k === days.length - 1 ? left : Math.floor((cents * weights[k]!) / total);
    left -= amount;
    if (rng.chance(REFUND)) {
      const refund = Math.max(1, Math.round(amount * (0.2 + 0.4 * rng.next())));
      amount += refund;
      out.push({ day: Math.min(yearEnd, day + rng.int(1, 10)), cents: -refund });
    }
    out.push({ day, cents: amount });
  });
}

/** The transactions, customer by customer; see the file comment for what is known about them. */
export function* iterateDemoTransactions(
  options: TransactionDemoOptions,
  plan = planDemo(options.customers, options.seed),
): Generator<DemoTransaction, void, undefined> {
  const asOfDay = Math.floor(options.asOf / DAY_MS);
  const yearStart = (y: number): number => asOfDay - 365 * (y + 1) + 1;
  const dates = new Map<number, string>();
  const dateOf = (day: number): string => {
    let s = dates.get(day);
    if (s === undefined) dates.set(day, (s = formatDay(day * DAY_MS)));
    return s;
  };
  const two = (n: number): string => String(n).padStart(2, '0');
  for (let i = 0; i < plan.segmentOf.length; i++) {
    const rng = new Random(mixSeed(options.seed, i));
    rng.next(); // the draw planDemo used for "stays"
    const segment = VALUE_SEGMENTS[plan.segmentOf[i]!]!;
    const kind = plan.kindOf[i];
    const level = DEMO_REVENUE_PER_YEAR[segment];
    const cents = Math.round(100 * level * (1 + DEMO_REVENUE_SPREAD * (2 * rng.next() - 1)));
    const held = drawProducts(rng, segment);
    const lines: Line[] = [];
    if (kind === Kind.Stays || kind === Kind.Lost) {
      const start = rng.chance(LONG_STANDING) ? 0 : rng.int(1, 23); // in months from the start of year 2
      if (start < 12) yearLines(rng, yearStart(2), start, 11, cents, lines);
      yearLines(rng, yearStart(1), Math.max(0, start - 12), 11, cents, lines);
      // some who stay have gone quiet for their last 3–6 months: at risk, in the making of the next year's lost
      if (kind === Kind.Stays)
        yearLines(rng, yearStart(0), 0, rng.chance(DEMO_AT_RISK_SHARE) ? rng.int(5, 8) : 11, cents, lines);
      else if (rng.chance(LOST_REFUND)) lines.push({ day: yearStart(0) + rng.int(0, 89), cents: -rng.int(500, 4000) });
    } else {
      if (kind === Kind.Regained) yearLines(rng, yearStart(2), rng.int(0, 5), rng.int(6, 11), cents, lines);
      yearLines(rng, yearStart(0), rng.int(0, 11), 11, cents, lines);
    }
    lines.sort((a, b) => a.day - b.day);
    const customerId = demoCustomerId(i);
    for (const { day, cents: amount } of lines) {
      let at = dateOf(day);
      if (!rng.chance(DATE_ONLY)) {
        at += `T${two(rng.int(8, 18))}:${two(rng.int(0, 59))}:${two(rng.int(0, 59))}${OFFSETS[rng.int(0, OFFSETS.length - 1)]}`;
      }
      const t: DemoTransaction = { customerId, at, amount: amount / 100 };
      if (!rng.chance(NO_PRODUCT)) t.product = held[rng.int(0, held.length - 1)]!;
      yield t;
    }
  }
}

/** The NDJSON line of a demo transaction (ids, dates and products need no escaping). */
export function demoTransactionLine(t: DemoTransaction): string {
  return t.product === undefined
    ? `{"customerId":"${t.customerId}","at":"${t.at}","amount":${t.amount}}`
    : `{"customerId":"${t.customerId}","at":"${t.at}","amount":${t.amount},"product":"${t.product}"}`;
}
