import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BG_NBD_PARAMETERS, fitBgNbd } from '../../../src/offline/analytics/churn.js';
import {
  buildProfiles,
  DEFAULT_PHASES,
  evenSample,
  FIT_ITERATIONS,
  FIT_SAMPLE,
  phaseOf,
  recencyFrequency,
} from '../../../src/offline/analytics/profiles.js';
import { endOfDay } from '../../../src/offline/analytics/timestamps.js';
import { type CustomerHistory, readHistories } from '../../../src/offline/analytics/transactions.js';
import { Profile } from '../../../src/profiles/schema.js';

const AS_OF = endOfDay('2026-03-01');
const day = (daysAgo: number) => new Date(AS_OF - daysAgo * 86_400_000).toISOString().slice(0, 10);
const line = (customerId: string, daysAgo: number, amount: number, product?: string) =>
  JSON.stringify({ customerId, at: day(daysAgo), amount, ...(product && { product }) });
const settings = { ...DEFAULT_PHASES, asOf: AS_OF, consents: ['web', 'call-center'] };
const history = (h: Partial<CustomerHistory>): CustomerHistory => ({
  customerId: 'X',
  first: AS_OF - 400 * 86_400_000,
  last: AS_OF - 10 * 86_400_000,
  thisYear: 100,
  lastYear: 100,
  activeThisYear: true,
  activeLastYear: true,
  activeBefore: false,
  purchaseDays: 12,
  products: new Set(),
  ...h,
});

describe('lifecycle phase from a history', () => {
  it('follows the documented order: new, regain, retain, loyalty — each threshold a setting', () => {
    expect(phaseOf(history({ first: AS_OF - 99 * 86_400_000 }), 0.9, AS_OF, DEFAULT_PHASES)).toBe('new');
    expect(phaseOf(history({ first: AS_OF - 101 * 86_400_000 }), 0.1, AS_OF, DEFAULT_PHASES)).toBe('loyalty');
    expect(phaseOf(history({ activeThisYear: false }), 0.1, AS_OF, DEFAULT_PHASES)).toBe('regain');
    expect(phaseOf(history({ last: AS_OF - 181 * 86_400_000 }), 0.1, AS_OF, DEFAULT_PHASES)).toBe('regain');
    expect(phaseOf(history({ last: AS_OF - 179 * 86_400_000 }), 0.1, AS_OF, DEFAULT_PHASES)).toBe('loyalty');
    expect(phaseOf(history({}), 0.5, AS_OF, DEFAULT_PHASES)).toBe('retain');
    expect(phaseOf(history({}), 0.5, AS_OF, { ...DEFAULT_PHASES, atRisk: 0.6 })).toBe('loyalty');
    expect(phaseOf(history({ first: AS_OF - 150 * 86_400_000 }), 0.1, AS_OF, { ...DEFAULT_PHASES, newDays: 200 })).toBe(
      'new',
    );
  });
});

describe('building profiles from transactions', () => {
  const lines = [
    // a loyal monthly buyer, two products
    ...Array.from({ length: 24 }, (_, m) => line('A-loyal', 5 + m * 30, 80, m % 2 ? 'fibre' : 'mobile')),
    // bought last year, nothing since but a refund: lost
    ...Array.from({ length: 10 }, (_, m) => line('B-lost', 400 + m * 30, 20)),
    line('B-lost', 100, -15),
    // a first purchase 30 days ago
    line('C-new', 30, 45, 'tv'),
    // went quiet 200 days ago, still active this year
    ...Array.from({ length: 8 }, (_, m) => line('D-quiet', 200 + m * 20, 30)),
    // only refunds: no profile
    line('E-refunds', 50, -10),
  ];

  it('gives every buyer a valid profile with segment, CLV, tenure, products and the phase', async () => {
    const read = await readHistories(lines, AS_OF);
    const built = buildProfiles(read.customers, settings);
    expect(built.skipped).toBe(1);
    const byId = new Map(built.profiles.map((p) => [p.customerId, p]));
    for (const p of built.profiles) expect(Profile.parse(p)).toEqual(p);
    expect([...byId.keys()].sort()).toEqual(['A-loyal', 'B-lost', 'C-new', 'D-quiet']);
    expect(byId.get('A-loyal')).toMatchObject({
      lifecyclePhase: 'loyalty',
      valueSegment: 'super',
      productsHeld: ['fibre', 'mobile'],
      annualRevenue: 960,
      consents: ['web', 'call-center'],
    });
    expect(byId.get('A-loyal')!.tenureDays).toBe(695);
    expect(byId.get('B-lost')).toMatchObject({
      lifecyclePhase: 'regain',
      annualRevenue: -15,
      attributes: { revenueLastYear: expect.any(Number) },
    });
    expect(byId.get('C-new')).toMatchObject({ lifecyclePhase: 'new', tenureDays: 30, productsHeld: ['tv'] });
    expect(byId.get('D-quiet')).toMatchObject({ lifecyclePhase: 'regain', attributes: { daysSinceLastPurchase: 200 } });
    // CLV = own revenue × the segment's duration, never negative
    for (const p of built.profiles) expect(p.clv).toBeGreaterThanOrEqual(0);
    const segment = built.portfolio.segments.find((s) => s.segment === 'super')!;
    expect(byId.get('A-loyal')!.clv).toBeCloseTo(960 * (segment.duration ?? built.portfolio.total.duration ?? 1), 2);
    // churn: the loyal buyer is far less at risk than the one who went quiet
    expect(byId.get('A-loyal')!.churnScore).toBeLessThan(byId.get('D-quiet')!.churnScore);
  });
});

describe('the churn model inside profiles build', () => {
  it('is fitted when the base behaves as the model says, and scores a long silence higher', async () => {
    const { seededRng, sampleBeta, sampleGamma } = await import('../../../src/math/random.js');
    const rng = seededRng(17);
    const truth = { r: 0.5, alpha: 20, a: 0.6, b: 3 }; // alpha in days
    const out: string[] = [];
    for (let c = 0; c < 4_000; c++) {
      const rate = sampleGamma(truth.r, rng) / truth.alpha;
      const drop = sampleBeta(truth.a, truth.b, rng);
      const start = 700 - Math.floor(rng() * 300); // days before the as-of day
      let t = start;
      out.push(line(`S${c}`, t, 10));
      for (;;) {
        t -= Math.max(1, Math.round(-Math.log(1 - rng()) / rate));
        if (t < 0) break;
        out.push(line(`S${c}`, t, 10));
        if (rng() < drop) break;
      }
    }
    const built = buildProfiles((await readHistories(out, AS_OF)).customers, settings);
    expect(built.churnModel.converged).toBe(true);
    expect(built.churnModel.params.r).toBeGreaterThan(truth.r * 0.6);
    expect(built.churnModel.params.r).toBeLessThan(truth.r * 1.6);
    const withRepeats = built.profiles.filter((p) => (p.attributes.purchaseDays as number) >= 3);
    const quiet = withRepeats.filter((p) => (p.attributes.daysSinceLastPurchase as number) > 300);
    const recent = withRepeats.filter((p) => (p.attributes.daysSinceLastPurchase as number) < 20);
    const mean = (ps: typeof built.profiles) => ps.reduce((n, p) => n + p.churnScore, 0) / ps.length;
    expect(quiet.length).toBeGreaterThan(50);
    expect(recent.length).toBeGreaterThan(50);
    expect(mean(quiet)).toBeGreaterThan(mean(recent) + 0.3);
  });
});

describe('the churn fit of a build', () => {
  it('takes exactly the stated number of customers, evenly spread, and everyone up to it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 1000 }), (n, size) => {
        const items = Array.from({ length: n }, (_, i) => i);
        const sample = evenSample(items, size);
        expect(sample.length).toBe(Math.min(n, size));
        expect(new Set(sample).size).toBe(sample.length);
        if (n <= size) expect(sample).toEqual(items);
        else {
          expect(sample[0]).toBe(0);
          // evenly: neighbours at most ⌈n / size⌉ apart
          for (let i = 1; i < sample.length; i++)
            expect(sample[i]! - sample[i - 1]!).toBeLessThanOrEqual(Math.ceil(n / size));
        }
      }),
    );
    expect(FIT_SAMPLE).toBe(100_000);
  });

  it('is fitted on every customer of a base under the sample size: the same estimate as a fit of all of them', async () => {
    let s = 3;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const lines: string[] = [];
    for (let c = 0; c < 3000; c++) {
      let d = 700 - Math.floor(rnd() * 300);
      const gap = 10 + Math.floor(rnd() * 90);
      while (d > 0 && rnd() > 0.03) {
        lines.push(line(`F${c}`, d, 10));
        d -= gap;
      }
      if (!lines.some((l) => l.includes(`"F${c}"`))) lines.push(line(`F${c}`, 600, 10));
    }
    const read = await readHistories(lines, AS_OF);
    const built = buildProfiles(read.customers, settings);
    const buyers = [...read.customers.values()].filter((h) => !Number.isNaN(h.first));
    const all = fitBgNbd(
      buyers.map((h) => recencyFrequency(h, AS_OF)),
      { maxIterations: FIT_ITERATIONS },
    );
    expect(built.churnModel.converged).toBe(true);
    expect(built.churnModel.params).toEqual(all.params);
  });

  it('says one thing when the fit does not settle: the published estimates are used', async () => {
    const read = await readHistories(
      Array.from({ length: 40 }, (_, i) => line(`G${i % 9}`, 10 + i * 13, 20)),
      AS_OF,
    );
    const built = buildProfiles(read.customers, { ...settings, fitIterations: 1 });
    expect(built.churnModel.converged).toBe(false);
    expect(built.churnModel.params).toEqual(DEFAULT_BG_NBD_PARAMETERS);
    expect(built.churnModel.reason).toBe('no convergence within 1 iterations: using the published estimates');
  });
});
