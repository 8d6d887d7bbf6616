import { mixSeed } from '../../math/random.js';
import type { LifecyclePhase, Profile, ValueSegment } from '../../profiles/schema.js';
import { LIFECYCLE_PHASES, VALUE_SEGMENTS } from '../../profiles/schema.js';
import { Random } from './random.js';

export interface DemoOptions {
  customers: number;
  seed: number;
  /** Accepted for callers that stamp an export; profiles only carry relative ages, so it changes nothing. */
  asOf?: Date;
}

export const PRODUCTS = [
  'mobile',
  'broadband',
  'fibre',
  'tv',
  'landline',
  'device-insurance',
  'cloud-backup',
  'sports-pack',
  'family-plan',
  'roaming-pass',
] as const;
export type ProductCode = (typeof PRODUCTS)[number];

/** Yearly retention per value segment; duration = 1 / (1 - retention) years (docs/domain.md). */
export const SEGMENT_RETENTION: Readonly<Record<ValueSegment, number>> = Object.freeze({
  super: 0.92,
  top: 0.88,
  middle: 0.8,
  bottom: 0.65,
});

/** Segment cut of the revenue ranking, best first: top 5 %, next 15 %, next 50 %, last 30 %. */
const SEGMENT_SHARES: readonly (readonly [ValueSegment, number])[] = [
  ['super', 0.05],
  ['top', 0.15],
  ['middle', 0.5],
  ['bottom', 0.3],
];

/** Phase weights per segment, in LIFECYCLE_PHASES order; they average to about 10/65/15/10 over the base. */
const PHASE_WEIGHTS: Readonly<Record<ValueSegment, readonly number[]>> = {
  super: [0.08, 0.77, 0.1, 0.05],
  top: [0.1, 0.7, 0.13, 0.07],
  middle: [0.1, 0.67, 0.14, 0.09],
  bottom: [0.11, 0.57, 0.19, 0.13],
};
/** Beta(a, b) of the churn score per phase: means 0.25 / 0.15 / 0.70 / 0.80. */
const CHURN_BETA: Readonly<Record<LifecyclePhase, readonly [number, number]>> = {
  new: [2.5, 7.5],
  loyalty: [2, 11.3],
  retain: [7, 3],
  regain: [8, 2],
};
const NPS_MEAN: Readonly<Record<LifecyclePhase, number>> = { new: 7.5, loyalty: 8, retain: 5, regain: 3.5 };
/** Segment multiplier on the odds of holding each add-on product. */
const PRODUCT_APPETITE: Readonly<Record<ValueSegment, number>> = { super: 2.2, top: 1.6, middle: 1, bottom: 0.55 };

const REVENUE_MEDIAN = 450;
const REVENUE_SIGMA = 0.95; // puts the top 5 % above roughly 2 000 a year, the top 1 % near 4 000
const REVENUE_FLOOR = 36; // a prepaid SIM at 3 a month
const MAX_TENURE_DAYS = 15 * 365;

export function segmentDurationYears(segment: ValueSegment): number {
  return 1 / (1 - SEGMENT_RETENTION[segment]);
}

/** Segment sizes for n customers; cumulative rounding keeps the sum exactly n. */
export function segmentCounts(n: number): Record<ValueSegment, number> {
  const counts = { super: 0, top: 0, middle: 0, bottom: 0 };
  let cumulativeShare = 0;
  let assigned = 0;
  for (const [segment, share] of SEGMENT_SHARES) {
    cumulativeShare += share;
    const upTo = segment === 'bottom' ? n : Math.round(cumulativeShare * n);
    counts[segment] = upTo - assigned;
    assigned = upTo;
  }
  return counts;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function customerId(index: number): string {
  return `C${String(index + 1).padStart(7, '0')}`;
}

/** First draw of every customer's stream, so pass one (ranking) and pass two (profile) agree. */
function drawRevenue(rng: Random): number {
  return round(Math.max(REVENUE_FLOOR, REVENUE_MEDIAN * Math.exp(REVENUE_SIGMA * rng.normal())), 2);
}

function drawTenureDays(rng: Random, phase: LifecyclePhase): number {
  if (phase === 'new') return rng.int(0, 99);
  const [a, b] = phase === 'regain' ? [2.5, 1.5] : phase === 'retain' ? [1.5, 2] : [1.3, 2.2];
  return Math.min(MAX_TENURE_DAYS, 100 + Math.floor(rng.beta(a, b) * (MAX_TENURE_DAYS - 100)));
}

function drawProducts(rng: Random, segment: ValueSegment, phase: LifecyclePhase): ProductCode[] {
  const appetite = PRODUCT_APPETITE[segment] * (phase === 'regain' ? 0.4 : 1);
  const p = (base: number): boolean => rng.chance(Math.min(0.95, base * appetite));
  const mobile = rng.chance(segment === 'bottom' ? 0.78 : 0.88);
  const fixedLine = !mobile || p(0.45);
  const fibre = fixedLine && rng.chance(segment === 'super' ? 0.75 : segment === 'bottom' ? 0.25 : 0.45);
  const held = new Set<ProductCode>();
  if (mobile) held.add('mobile');
  if (fixedLine) held.add(fibre ? 'fibre' : 'broadband');
  if (fixedLine && p(0.3)) held.add('tv');
  if (fixedLine && p(0.2)) held.add('landline');
  if (mobile && p(0.2)) held.add('device-insurance');
  if (p(0.1)) held.add('cloud-backup');
  if (held.has('tv') && p(0.25)) held.add('sports-pack');
  if (mobile && p(0.15)) held.add('family-plan');
  if (mobile && p(0.1)) held.add('roaming-pass');
  return PRODUCTS.filter((code) => held.has(code));
}

function drawConsents(rng: Random, phase: LifecyclePhase): string[] {
  const consents: string[] = [];
  if (rng.chance(0.85)) consents.push('web');
  if (rng.chance(0.7)) consents.push('call-center');
  if (rng.chance(phase === 'regain' ? 0.35 : 0.55)) consents.push('email');
  if (rng.chance(phase === 'regain' ? 0.3 : 0.45)) consents.push('sms');
  return consents;
}

function drawAttributes(
  rng: Random,
  segment: ValueSegment,
  phase: LifecyclePhase,
  tenureDays: number,
  mobile: boolean,
): Record<string, number | boolean> {
  const contractMonthsLeft =
    phase === 'new'
      ? 24 - Math.floor(tenureDays / 30.5)
      : phase === 'retain'
        ? rng.int(0, 3)
        : phase === 'regain'
          ? rng.int(0, 1)
          : rng.int(0, 24);
  const lateOdds =
    0.04 + (segment === 'bottom' ? 0.08 : 0) + (phase === 'regain' ? 0.15 : phase === 'retain' ? 0.05 : 0);
  const appOdds = (segment === 'super' || segment === 'top' ? 0.7 : 0.5) - (phase === 'regain' ? 0.25 : 0);
  const attributes: Record<string, number | boolean> = {
    contractMonthsLeft,
    paymentLate: rng.chance(lateOdds),
    appUser: rng.chance(appOdds),
  };
  if (mobile) attributes.dataUsagePct = Math.min(150, Math.max(0, Math.round(70 + 30 * rng.normal())));
  return attributes;
}

function buildProfile(rng: Random, index: number, segment: ValueSegment): Profile {
  const annualRevenue = drawRevenue(rng);
  const phase = LIFECYCLE_PHASES[rng.weighted(PHASE_WEIGHTS[segment])] ?? 'loyalty';
  const tenureDays = drawTenureDays(rng, phase);
  const [a, b] = CHURN_BETA[phase];
  const churnScore = round(rng.beta(a, b), 3);
  const productsHeld = drawProducts(rng, segment, phase);
  const consents = drawConsents(rng, phase);
  const nps = rng.chance(0.6) ? Math.min(10, Math.max(0, Math.round(NPS_MEAN[phase] + 2 * rng.normal()))) : undefined;
  const attributes = drawAttributes(rng, segment, phase, tenureDays, productsHeld.includes('mobile'));
  return {
    customerId: customerId(index),
    valueSegment: segment,
    lifecyclePhase: phase,
    clv: round(annualRevenue * segmentDurationYears(segment), 2),
    churnScore,
    ...(nps === undefined ? {} : { npsScore: nps }),
    tenureDays,
    annualRevenue,
    productsHeld,
    consents,
    attributes,
  };
}

/** Profiles one at a time; only revenues and segments are held for the whole base, so millions fit. */
export function* iterateProfiles(options: DemoOptions): Generator<Profile, void, undefined> {
  const n = options.customers;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`customers must be a non-negative integer, got ${n}`);
  const revenues = new Float64Array(n);
  for (let i = 0; i < n; i++) revenues[i] = drawRevenue(new Random(mixSeed(options.seed, i)));
  // Rank by revenue, highest first; ties go to the lower id so the ranking is total.
  const ranking = new Uint32Array(n).map((_, i) => i);
  ranking.sort((x, y) => (revenues[y] ?? 0) - (revenues[x] ?? 0) || x - y);
  const segmentOf = new Uint8Array(n);
  const counts = segmentCounts(n);
  let rank = 0;
  SEGMENT_SHARES.forEach(([segment], code) => {
    for (const end = rank + counts[segment]; rank < end; rank++) segmentOf[ranking[rank] ?? 0] = code;
  });
  for (let i = 0; i < n; i++) {
    const segment = SEGMENT_SHARES[segmentOf[i] ?? 0]?.[0] ?? 'bottom';
    yield buildProfile(new Random(mixSeed(options.seed, i)), i, segment);
  }
}

export function generateProfiles(options: DemoOptions): Profile[] {
  return Array.from(iterateProfiles(options));
}

export interface DemoSummary {
  customers: number;
  segments: Record<ValueSegment, number>;
  phases: Record<LifecyclePhase, number>;
  meanChurnByPhase: Record<LifecyclePhase, number>;
  meanClvBySegment: Record<ValueSegment, number>;
}

/** Counts and means of a base; an empty group reports a mean of 0 rather than NaN. */
export function summarize(profiles: readonly Profile[]): DemoSummary {
  const bySegment = (): Record<ValueSegment, number> => ({ super: 0, top: 0, middle: 0, bottom: 0 });
  const byPhase = (): Record<LifecyclePhase, number> => ({ new: 0, loyalty: 0, retain: 0, regain: 0 });
  const segments = bySegment(),
    meanClvBySegment = bySegment();
  const phases = byPhase(),
    meanChurnByPhase = byPhase();
  for (const p of profiles) {
    segments[p.valueSegment]++;
    phases[p.lifecyclePhase]++;
    meanChurnByPhase[p.lifecyclePhase] += p.churnScore;
    meanClvBySegment[p.valueSegment] += p.clv;
  }
  for (const s of VALUE_SEGMENTS) meanClvBySegment[s] = segments[s] === 0 ? 0 : meanClvBySegment[s] / segments[s];
  for (const ph of LIFECYCLE_PHASES) meanChurnByPhase[ph] = phases[ph] === 0 ? 0 : meanChurnByPhase[ph] / phases[ph];
  return { customers: profiles.length, segments, phases, meanChurnByPhase, meanClvBySegment };
}

/** A customer the demo pages offer to pick: enough to tell who they are. */
export interface DemoCustomer {
  readonly customerId: string;
  readonly valueSegment: Profile['valueSegment'];
  readonly lifecyclePhase: Profile['lifecyclePhase'];
}

/** The first customer of each lifecycle phase × value segment not `passedOver`, phases and segments in schema order. */
export function demoCustomers(
  profiles: Iterable<Profile>,
  passedOver: (customerId: string) => boolean = () => false,
): DemoCustomer[] {
  const byCell = new Map<string, DemoCustomer>();
  for (const p of profiles) {
    const cell = `${p.lifecyclePhase}|${p.valueSegment}`;
    if (!byCell.has(cell) && !passedOver(p.customerId))
      byCell.set(cell, { customerId: p.customerId, valueSegment: p.valueSegment, lifecyclePhase: p.lifecyclePhase });
  }
  const out: DemoCustomer[] = [];
  for (const phase of LIFECYCLE_PHASES)
    for (const segment of VALUE_SEGMENTS) {
      const c = byCell.get(`${phase}|${segment}`);
      if (c) out.push(c);
    }
  return out;
}
