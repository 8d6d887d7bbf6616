import { describe, expect, it } from 'vitest';
import { ImpactReader } from '../../../src/offline/impact/index.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-05T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const OUTCOME_DAYS = 14;

interface Made {
  arm: 'control' | 'champion' | 'challenger';
  t0: number;
  /** [days after t0 (fractional), amount] */
  buys: [number, number][];
}

/** A seeded population; transactions before t0 and after the window too, which the curve leaves out. */
function population(seed: number) {
  let s = seed;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const made: Made[] = [];
  for (let i = 0; i < 400; i++) {
    const u = rnd();
    const arm = u < 0.3 ? 'control' : u < 0.7 ? 'champion' : 'challenger';
    const t0 = T0 + Math.floor(rnd() * 30) * DAY + Math.floor(rnd() * 20 * 3_600_000);
    const buys: [number, number][] = [];
    for (let k = 0; k < 4; k++) buys.push([rnd() * (OUTCOME_DAYS + 6) - 3, Math.round(rnd() * 5000) / 100 - 5]);
    made.push({ arm, t0, buys });
  }
  return made;
}

function read(made: Made[], asOf?: number) {
  const reader = new ImpactReader({
    from: Number.NEGATIVE_INFINITY,
    to: Number.POSITIVE_INFINITY,
    outcomeDays: OUTCOME_DAYS,
    asOf,
  });
  made.forEach((m, i) => {
    reader.decision(
      JSON.stringify({
        at: iso(m.t0),
        customerId: `C${i}`,
        arm: m.arm,
        profile: { lifecyclePhase: 'p', valueSegment: 's' },
      }),
    );
  });
  // the transactions in text order, not by time: the curve must not depend on their order
  const lines = made.flatMap((m, i) =>
    m.buys.map(([d, amount]) => JSON.stringify({ customerId: `C${i}`, at: iso(m.t0 + d * DAY), amount })),
  );
  lines.sort();
  for (const l of lines) reader.transaction(l);
  return reader;
}

/** The curve by definition: per customer, revenue in [t0, t0 + d + 1 days), averaged over the arm. */
function expected(made: Made[], arms: readonly string[]) {
  const of = made.filter((m) => arms.includes(m.arm));
  return Array.from({ length: OUTCOME_DAYS }, (_, d) => {
    let sum = 0;
    for (const m of of) for (const [t, amount] of m.buys) if (t >= 0 && t < d + 1) sum += amount;
    return sum / of.length;
  });
}

describe('ImpactReader.cumulative', () => {
  it('is the mean cumulative revenue per customer by day since t0, per comparison arm', () => {
    const made = population(17);
    const asOf = Date.parse('2026-03-31T23:59:59.999Z');
    const reader = read(made, asOf);
    const c = reader.cumulative();
    expect(c.outcomeDays).toBe(OUTCOME_DAYS);
    expect(c.arms.map((a) => a.arm)).toEqual(['treatment', 'control', 'champion', 'challenger']);
    const members = {
      treatment: ['champion', 'challenger'],
      control: ['control'],
      champion: ['champion'],
      challenger: ['challenger'],
    };
    for (const a of c.arms) {
      const arms = members[a.arm as keyof typeof members];
      expect(a.customers).toBe(made.filter((m) => arms.includes(m.arm)).length);
      const want = expected(made, arms);
      a.revenue.forEach((v, d) => {
        expect(v).toBeCloseTo(want[d]!, 9);
      });
    }
    // the last day is the revenue per customer of the report
    const all = reader.result().comparisons[0]!.groups[0]!;
    expect(c.arms[0]!.revenue.at(-1)).toBeCloseTo(all.arms.treatment!.revenuePerCustomer!, 9);
    expect(c.arms[1]!.revenue.at(-1)).toBeCloseTo(all.arms.control!.revenuePerCustomer!, 9);
  });

  it('leaves out the pending customers', () => {
    const made = population(5);
    // as of the end of a day in the middle of the t0s: later customers are pending
    const asOf = Date.parse('2026-01-30T23:59:59.999Z');
    const measured = made.filter((m) => m.t0 + OUTCOME_DAYS * DAY <= asOf);
    expect(measured.length).toBeGreaterThan(50);
    expect(measured.length).toBeLessThan(made.length);
    const c = read(made, asOf).cumulative();
    // only transactions up to as-of are read
    const seen = measured.map((m) => ({ ...m, buys: m.buys.filter(([d]) => m.t0 + d * DAY <= asOf) }));
    const control = c.arms.find((a) => a.arm === 'control')!;
    expect(control.customers).toBe(seen.filter((m) => m.arm === 'control').length);
    const want = expected(seen, ['control']);
    control.revenue.forEach((v, d) => {
      expect(v).toBeCloseTo(want[d]!, 9);
    });
  });

  it('has no challenger curves when no challenger was measured', () => {
    const made = population(9).map((m) => ({ ...m, arm: m.arm === 'challenger' ? ('champion' as const) : m.arm }));
    const c = read(made, Date.parse('2026-03-31T23:59:59.999Z')).cumulative();
    expect(c.arms.map((a) => a.arm)).toEqual(['treatment', 'control']);
  });
});
