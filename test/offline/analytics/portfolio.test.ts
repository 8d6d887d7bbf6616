import { beforeAll, describe, expect, it } from 'vitest';
import {
  durationYears,
  MAX_DURATION_YEARS,
  type Portfolio,
  portfolio,
} from '../../../src/offline/analytics/portfolio.js';
import { segmentSizes } from '../../../src/offline/analytics/segments.js';
import { endOfDay } from '../../../src/offline/analytics/timestamps.js';
import { readHistories } from '../../../src/offline/analytics/transactions.js';
import { SEGMENT_RETENTION } from '../../../src/offline/demo/profiles.js';
import {
  DEMO_REVENUE_PER_YEAR,
  DEMO_REVENUE_SPREAD,
  demoTransactionLine,
  iterateDemoTransactions,
  planDemo,
} from '../../../src/offline/demo/transactions.js';
import { VALUE_SEGMENTS, type ValueSegment } from '../../../src/profiles/schema.js';

const AS_OF = endOfDay('2026-03-01');
const THIS_YEAR = '2025-09-15';
const LAST_YEAR = '2024-09-15';
const BEFORE = '2023-09-15';
const line = (customerId: string, at: string, amount: number, product?: string) =>
  JSON.stringify({ customerId, at, amount, ...(product && { product }) });

async function portfolioOf(lines: string[]): Promise<Portfolio> {
  const read = await readHistories(lines, AS_OF, { strict: true });
  return portfolio(read.customers.values(), AS_OF);
}
const row = (p: Portfolio, segment: ValueSegment) => p.segments.find((s) => s.segment === segment)!;

describe('the domain arithmetic', () => {
  it('turns retention into duration: 80 % → 5 years, 50 % → 2, 90 % → 10', () => {
    expect(durationYears(0.8)).toBeCloseTo(5, 12);
    expect(durationYears(0.5)).toBe(2);
    expect(durationYears(0.9)).toBeCloseTo(10, 12);
    expect(durationYears(0)).toBe(1);
  });

  it(`caps the duration at ${MAX_DURATION_YEARS} years (retention 1 would be forever) and refuses nonsense`, () => {
    expect(durationYears(1)).toBe(MAX_DURATION_YEARS);
    expect(durationYears(0.999)).toBe(MAX_DURATION_YEARS);
    expect(durationYears(0.97)).toBeCloseTo(33.33, 2);
    for (const bad of [-0.1, 1.1, Number.NaN]) expect(() => durationYears(bad)).toThrow(RangeError);
  });

  // 200 customers last year cut 10/30/100/60; retention 90/80/80/50 % by construction; newcomers
  // refill every segment this year at 1000/400/100/40 a year.
  const SEGMENTS = [
    { segment: 'super', size: 10, stay: 9, lastYear: 2000, thisYear: 1000 },
    { segment: 'top', size: 30, stay: 24, lastYear: 800, thisYear: 400 },
    { segment: 'middle', size: 100, stay: 80, lastYear: 200, thisYear: 100 },
    { segment: 'bottom', size: 60, stay: 30, lastYear: 50, thisYear: 40 },
  ] as const;
  function worked(): string[] {
    const lines: string[] = [];
    SEGMENTS.forEach(({ segment, size, stay, lastYear, thisYear }) => {
      for (let i = 0; i < size; i++) {
        const id = `${segment}-${String(i).padStart(3, '0')}`;
        lines.push(line(id, LAST_YEAR, lastYear, 'mobile'));
        if (i < stay) lines.push(line(id, THIS_YEAR, thisYear, 'mobile'));
        else lines.push(line(`${id}-new`, THIS_YEAR, thisYear)); // a newcomer takes the lost one's place
      }
    });
    // ten of the bottom newcomers bought two years ago: regained, not new
    for (let i = 0; i < 10; i++) lines.push(line(`bottom-${String(i + 30).padStart(3, '0')}-new`, BEFORE, 25));
    return lines;
  }

  it('computes revenue, retention, duration, CLV, CLV index and CLV total per segment', async () => {
    const p = await portfolioOf(worked());
    const expected = {
      super: { customers: 10, revenue: 1000, retention: 0.9, duration: 10, clv: 10_000, index: 125 },
      top: { customers: 30, revenue: 400, retention: 0.8, duration: 5, clv: 2000, index: 25 },
      middle: { customers: 100, revenue: 100, retention: 0.8, duration: 5, clv: 500, index: 6.25 },
      bottom: { customers: 60, revenue: 40, retention: 0.5, duration: 2, clv: 80, index: 1 },
    };
    expect(p.segments.map((s) => s.segment)).toEqual(VALUE_SEGMENTS);
    for (const segment of VALUE_SEGMENTS) {
      const r = row(p, segment);
      const e = expected[segment];
      expect(r.customers).toBe(e.customers);
      expect(r.share).toBeCloseTo(e.customers / 200, 12);
      expect(r.revenuePerCustomerPerYear).toBe(e.revenue);
      expect(r.retention).toBe(e.retention);
      expect(r.duration).toBeCloseTo(e.duration, 9);
      expect(r.clv).toBeCloseTo(e.clv, 6);
      expect(r.clvIndex).toBeCloseTo(e.index, 9);
      expect(r.clvTotal).toBeCloseTo(e.clv * e.customers, 6);
    }
  });

  it('adds up the flows and the totals', async () => {
    const p = await portfolioOf(worked());
    expect(p.asOf).toBe('2026-03-01');
    expect(p.flows).toEqual({ activeAtStart: 200, retained: 143, lost: 57, regained: 10, new: 47, activeAtEnd: 200 });
    expect(p.total.customers).toBe(200);
    expect(p.total.retention).toBe(143 / 200);
    expect(p.total.duration).toBeCloseTo(1 / (1 - 0.715), 9);
    expect(p.total.portfolioValue).toBeCloseTo(100_000 + 60_000 + 50_000 + 4_800, 4);
    expect(p.total.clv).toBeCloseTo(214_800 / 200, 6);
  });
});

describe('edge cases', () => {
  it('a single customer new this year is super, with no retention and so no CLV', async () => {
    const p = await portfolioOf([line('solo', THIS_YEAR, 120)]);
    expect(p.flows).toEqual({ activeAtStart: 0, retained: 0, lost: 0, regained: 0, new: 1, activeAtEnd: 1 });
    expect(row(p, 'super')).toEqual({
      segment: 'super',
      customers: 1,
      share: 1,
      revenuePerCustomerPerYear: 120,
      retention: null,
      duration: null,
      clv: null,
      clvIndex: null,
      clvTotal: null,
    });
    for (const s of ['top', 'middle', 'bottom'] as const) {
      expect(row(p, s)).toMatchObject({
        customers: 0,
        share: 0,
        revenuePerCustomerPerYear: null,
        clv: null,
        clvTotal: 0,
      });
    }
    expect(p.total).toEqual({ customers: 1, retention: null, duration: null, clv: null, portfolioValue: null });
  });

  it('a single customer kept for both years: retention 1, duration capped, no bottom to index against', async () => {
    const p = await portfolioOf([line('solo', LAST_YEAR, 100), line('solo', THIS_YEAR, 150)]);
    expect(row(p, 'super')).toMatchObject({
      customers: 1,
      retention: 1,
      duration: MAX_DURATION_YEARS,
      clv: 150 * MAX_DURATION_YEARS,
      clvIndex: null,
      clvTotal: 7500,
    });
    expect(p.total).toEqual({
      customers: 1,
      retention: 1,
      duration: MAX_DURATION_YEARS,
      clv: 7500,
      portfolioValue: 7500,
    });
  });

  it('all customers in one year (nobody last year): all new, segments by the cut, no retention', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => line(`c${String(i).padStart(2, '0')}`, THIS_YEAR, 100 + i));
    const p = await portfolioOf(lines);
    expect(p.flows).toEqual({ activeAtStart: 0, retained: 0, lost: 0, regained: 0, new: 20, activeAtEnd: 20 });
    expect(p.segments.map((s) => s.customers)).toEqual([1, 3, 10, 6]);
    expect(row(p, 'super').revenuePerCustomerPerYear).toBe(119); // the best customer
    expect(row(p, 'bottom').revenuePerCustomerPerYear).toBeCloseTo((100 + 101 + 102 + 103 + 104 + 105) / 6, 12);
    expect(p.segments.every((s) => s.retention === null && s.clv === null)).toBe(true);
    expect(p.total).toEqual({ customers: 20, retention: null, duration: null, clv: null, portfolioValue: null });
  });

  it('all customers only last year: everybody lost, nobody to value', async () => {
    const p = await portfolioOf([line('a', LAST_YEAR, 10), line('b', LAST_YEAR, 20)]);
    expect(p.flows).toEqual({ activeAtStart: 2, retained: 0, lost: 2, regained: 0, new: 0, activeAtEnd: 0 });
    expect(row(p, 'super')).toMatchObject({ customers: 0, retention: 0, duration: 1, clv: null, clvTotal: 0 });
    expect(p.total).toEqual({ customers: 0, retention: 0, duration: 1, clv: null, portfolioValue: 0 });
  });

  it('refunds are negative amounts: revenue is net, and a refund alone does not make a customer active', async () => {
    const p = await portfolioOf([
      line('buyer', LAST_YEAR, 100),
      line('buyer', THIS_YEAR, 300),
      line('buyer', '2025-10-01', -120),
      line('refunded-only', LAST_YEAR, 50),
      line('refunded-only', THIS_YEAR, -50),
    ]);
    expect(p.flows).toEqual({ activeAtStart: 2, retained: 1, lost: 1, regained: 0, new: 0, activeAtEnd: 1 });
    expect(row(p, 'super').revenuePerCustomerPerYear).toBe(180);
    expect(p.total.customers).toBe(1);
  });

  it('ranks ties by customerId, so the result does not depend on the input order', async () => {
    const ids = ['d', 'b', 'a', 'c', 'e'];
    const lines = ids.flatMap((id) => [line(id, LAST_YEAR, 10), ...(id === 'a' ? [] : [line(id, THIS_YEAR, 10)])]);
    const forward = await portfolioOf(lines);
    const backward = await portfolioOf(lines.slice().reverse());
    expect(backward).toEqual(forward);
    // last year a..e tie at 10, so by id: a (lost) is super, nobody top, b–d middle, e bottom (1/0/3/1)
    expect(forward.segments.map((s) => [s.segment, s.retention])).toEqual([
      ['super', 0],
      ['top', null],
      ['middle', 1],
      ['bottom', 1],
    ]);
  });

  it('an empty input gives an empty portfolio', async () => {
    const p = await portfolioOf([]);
    expect(p.flows).toEqual({ activeAtStart: 0, retained: 0, lost: 0, regained: 0, new: 0, activeAtEnd: 0 });
    expect(p.total).toEqual({ customers: 0, retention: null, duration: null, clv: null, portfolioValue: 0 });
  });
});

describe('the generated population gives back what it was made with', () => {
  const N = 10_000;
  const plan = planDemo(N, 11);
  const lines: string[] = [];
  let read: Awaited<ReturnType<typeof readHistories>>;
  let p: Portfolio;
  beforeAll(async () => {
    for (const t of iterateDemoTransactions({ customers: N, seed: 11, asOf: AS_OF }, plan))
      lines.push(demoTransactionLine(t));
    read = await readHistories(lines, AS_OF, { strict: true });
    p = portfolio(read.customers.values(), AS_OF);
  });

  it('reads every line', () => {
    expect(read.transactions).toBe(lines.length);
    expect(read.rejectedLines + read.ignoredAfterAsOf).toBe(0);
    expect(lines.length / (N + plan.newcomers)).toBeGreaterThan(20); // about monthly over up to 3 years
  });

  it('recovers the segments and flows exactly', () => {
    expect(p.flows).toEqual({
      activeAtStart: N,
      retained: N - plan.newcomers,
      lost: plan.newcomers,
      regained: plan.regained,
      new: plan.new,
      activeAtEnd: N,
    });
    const sizes = segmentSizes(N);
    for (const s of p.segments) {
      expect(s.customers).toBe(sizes[s.segment]);
      expect(s.retention).toBe(plan.retained[s.segment] / sizes[s.segment]);
    }
  });

  // Each customer stays with probability p, so a segment of n has retention with standard error
  // sqrt(p(1 − p)/n) (super: n = 500, σ ≈ 1.2 points); revenue is level × U(0.8, 1.2), so the
  // mean has σ = level · 0.2/√3/√n. Four σ: a seed fails by chance about once in 16 000.
  it.each(VALUE_SEGMENTS)(
    '%s: retention and revenue per customer within 4 standard errors of the generator',
    (segment) => {
      const s = row(p, segment);
      const expected = SEGMENT_RETENTION[segment];
      expect(Math.abs(s.retention! - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / s.customers));
      const level = DEMO_REVENUE_PER_YEAR[segment];
      expect(Math.abs(s.revenuePerCustomerPerYear! - level)).toBeLessThan(
        (4 * level * DEMO_REVENUE_SPREAD) / Math.sqrt(3 * s.customers),
      );
      expect(s.duration).toBeCloseTo(1 / (1 - s.retention!), 9);
      expect(s.clv).toBeCloseTo(s.revenuePerCustomerPerYear! * s.duration!, 6);
    },
  );

  it('totals add up', () => {
    expect(p.total.retention).toBe(p.flows.retained / p.flows.activeAtStart);
    expect(p.total.portfolioValue).toBeCloseTo(
      p.segments.reduce((sum, s) => sum + s.clvTotal!, 0),
      4,
    );
    expect(row(p, 'bottom').clvIndex).toBe(1);
    const indexes = p.segments.map((s) => s.clvIndex!);
    expect(indexes).toEqual(indexes.slice().sort((a, b) => b - a));
  });
});
