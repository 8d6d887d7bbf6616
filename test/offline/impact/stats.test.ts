import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cuped, holm, Moments, newcombe, welch, wilson } from '../../../src/offline/impact/stats.js';

// Independent computations, from first principles: the t distribution by numerical integration of
// its density (log-gamma by Lanczos), its quantile by bisection, Wilson's interval as the roots of
// its score equation, CUPED by ordinary least squares over the customers, Holm by its definition.

function logGamma(z: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let a = c[0]!;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  const t = x + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(T ≤ x) for x ≥ 0: ½ + ∫₀ˣ density, Simpson's rule. */
function tCdf(x: number, df: number): number {
  const k = Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2)) / Math.sqrt(df * Math.PI);
  const f = (t: number) => k * (1 + (t * t) / df) ** (-(df + 1) / 2);
  const n = 20_000;
  const h = x / n;
  let s = f(0) + f(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(i * h);
  return 0.5 + (s * h) / 3;
}

function tQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = 50;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

describe('the impact statistics, against independent computations', () => {
  it('Welch: interval and p-value from the t distribution integrated here', () => {
    const a = [12.1, 9.4, 15.2, 11.8, 10.0, 13.3, 8.7, 14.9, 12.2, 10.6, 11.1];
    const b = [9.8, 8.1, 10.4, 7.7, 11.9, 9.0, 8.8, 10.2, 6.9];
    const w = welch(
      { mean: mean(a), variance: variance(a), n: a.length },
      { mean: mean(b), variance: variance(b), n: b.length },
    );
    const va = variance(a) / a.length;
    const vb = variance(b) / b.length;
    const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
    const se = Math.sqrt(va + vb);
    const d = mean(a) - mean(b);
    const t = tQuantile(0.975, df);
    expect(w.difference).toBeCloseTo(d, 12);
    expect(w.ciLow).toBeCloseTo(d - t * se, 6);
    expect(w.ciHigh).toBeCloseTo(d + t * se, 6);
    expect(w.pValue).toBeCloseTo(2 * (1 - tCdf(Math.abs(d) / se, df)), 6);
  });

  it("Wilson's interval is the pair of roots of its score equation", () => {
    const z = 1.959963984540054;
    for (const [x, n] of [
      [0, 10],
      [3, 10],
      [56, 70],
      [1, 1000],
      [999, 1000],
    ] as const) {
      // (p̂ − p)² = z² p (1 − p) / n  ⇔  (1 + z²/n) p² − (2p̂ + z²/n) p + p̂² = 0
      const ph = x / n;
      const A = 1 + (z * z) / n;
      const B = -(2 * ph + (z * z) / n);
      const C = ph * ph;
      const root = Math.sqrt(B * B - 4 * A * C);
      const w = wilson(x, n);
      expect(w.low).toBeCloseTo((-B - root) / (2 * A), 12);
      expect(w.high).toBeCloseTo((-B + root) / (2 * A), 12);
    }
  });

  it("Newcombe's hybrid score interval reproduces the published examples (Newcombe 1998, Table II, method 10)", () => {
    for (const [x1, n1, x2, n2, low, high] of [
      [56, 70, 48, 80, 0.0524, 0.3339],
      [9, 10, 3, 10, 0.1705, 0.809],
      [5, 56, 0, 29, -0.0381, 0.1926],
      [0, 10, 0, 20, -0.1611, 0.2775],
      [0, 10, 0, 10, -0.2775, 0.2775],
      [10, 10, 0, 20, 0.6791, 1],
      [10, 10, 0, 10, 0.6075, 1],
    ] as const) {
      const d = newcombe({ x: x1, n: n1 }, { x: x2, n: n2 });
      expect(d.ciLow, `${x1}/${n1} − ${x2}/${n2}`).toBeCloseTo(low, 4);
      expect(d.ciHigh, `${x1}/${n1} − ${x2}/${n2}`).toBeCloseTo(high, 4);
    }
  });

  it('running moments equal the two-pass ones, also merged', () => {
    const value = fc.double({ min: -1e4, max: 1e4, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value), { minLength: 2, maxLength: 60 }), fc.nat(60), (pairs, cut) => {
        const k = Math.min(cut, pairs.length);
        const left = new Moments();
        const right = new Moments();
        pairs.forEach(([x, y], i) => {
          (i < k ? left : right).add(x, y);
        });
        const m = Moments.merged(left, right);
        const xs = pairs.map((p) => p[0]);
        const ys = pairs.map((p) => p[1]);
        const mx = mean(xs);
        const my = mean(ys);
        const cov = pairs.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / (pairs.length - 1);
        const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(b)));
        close(m.meanX, mx);
        close(m.meanY, my);
        close(m.varX, variance(xs));
        close(m.varY, variance(ys));
        close(m.covXY, cov);
      }),
    );
  });

  it('CUPED equals ordinary least squares over the customers, then Welch on the adjusted outcomes', () => {
    let s = 11;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const customers = Array.from({ length: 400 }, (_, i) => {
      const treated = i % 3 !== 0;
      const x = 100 * rnd() + 20 * rnd();
      const y = 0.8 * x + 30 * rnd() + (treated ? 5 : 0);
      return { treated, x, y };
    });
    const t = new Moments();
    const c = new Moments();
    for (const k of customers) (k.treated ? t : c).add(k.x, k.y);
    const got = cuped(t, c);
    // OLS of y on x (with an intercept) over everyone: the slope is θ
    const xs = customers.map((k) => k.x);
    const ys = customers.map((k) => k.y);
    const mx = mean(xs);
    const my = mean(ys);
    const theta =
      customers.reduce((a, k) => a + (k.x - mx) * (k.y - my), 0) / customers.reduce((a, k) => a + (k.x - mx) ** 2, 0);
    expect(got.theta).toBeCloseTo(theta, 10);
    const adjusted = (treated: boolean) =>
      customers.filter((k) => k.treated === treated).map((k) => k.y - theta * (k.x - mx));
    const at = adjusted(true);
    const ac = adjusted(false);
    const d = mean(at) - mean(ac);
    const se = Math.sqrt(variance(at) / at.length + variance(ac) / ac.length);
    expect(got.difference).toBeCloseTo(d, 9);
    expect(got.standardError).toBeCloseTo(se, 9);
    const plainSe = Math.sqrt(
      variance(customers.filter((k) => k.treated).map((k) => k.y)) / at.length +
        variance(customers.filter((k) => !k.treated).map((k) => k.y)) / ac.length,
    );
    expect(got.varianceReduction).toBeCloseTo(1 - (se / plainSe) ** 2, 9);
    expect(got.varianceReduction).toBeGreaterThan(0.5);
  });

  it("Holm's adjustment by its definition: the running maximum of (m − rank + 1) × p, at most 1", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }), (ps) => {
        const adjusted = holm(ps);
        const sorted = [...ps].sort((a, b) => a - b);
        ps.forEach((p, i) => {
          const rank = sorted.indexOf(p);
          let expected = 0;
          for (let j = 0; j <= rank; j++) expected = Math.max(expected, Math.min(1, (ps.length - j) * sorted[j]!));
          expect(adjusted[i]).toBeCloseTo(expected, 12);
        });
      }),
    );
  });
});
