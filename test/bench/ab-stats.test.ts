import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript, no declarations
import { pairedRatio } from '../../bench/ab-stats.js';
import { seededRng, standardNormal } from '../../src/math/random.js';

describe('the A/B bench’s paired ratio', () => {
  it('is the geometric mean of the rounds’ ratios with a t-interval on their logs (worked by hand)', () => {
    const a = [100, 80, 120, 90];
    const b = [90, 76, 102, 90];
    // ln(b/a): ln 0.9, ln 0.95, ln 0.85, ln 1
    const logs = [Math.log(0.9), Math.log(0.95), Math.log(0.85), 0];
    const mean = (logs[0]! + logs[1]! + logs[2]! + logs[3]!) / 4;
    const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / 3);
    // Student's t, 3 degrees of freedom, two-sided 95 %: 3.182446 (printed tables)
    const half = (3.182446 * sd) / 2;
    const r = pairedRatio(a, b);
    expect(r.n).toBe(4);
    expect(r.ratio).toBeCloseTo(Math.exp(mean), 12);
    expect(r.low).toBeCloseTo(Math.exp(mean - half), 6);
    expect(r.high).toBeCloseTo(Math.exp(mean + half), 6);
    expect(r.rounds.map((x: number) => Number(x.toFixed(6)))).toEqual([0.9, 0.95, 0.85, 1]);
  });

  it('covers the true ratio in about 95 % of simulated runs, the machine drifting between and within rounds', () => {
    const rng = seededRng(20261207);
    const truth = 0.92;
    const runs = 4_000;
    let covered = 0;
    for (let k = 0; k < runs; k++) {
      const a: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < 8; round++) {
        // the machine's speed drifts a third between rounds, and some 5 % (one way more than the
        // other) from the first server's turn to the second's; the harness alternates which goes
        // first, as here. Each measurement adds 5 % of noise of its own.
        const speed = Math.exp(0.3 * standardNormal(rng));
        const later = Math.exp(0.05 + 0.03 * standardNormal(rng));
        const aFirst = round % 2 === 0;
        a.push(70 * speed * (aFirst ? 1 : later) * Math.exp(0.05 * standardNormal(rng)));
        b.push(70 * truth * speed * (aFirst ? later : 1) * Math.exp(0.05 * standardNormal(rng)));
      }
      const r = pairedRatio(a, b);
      if (r.low <= truth && truth <= r.high) covered++;
    }
    // binomial(4000, 0.95): a standard deviation of 0.34 %; the within-round drift, cancelled in
    // the mean by the alternation, widens the rounds' spread, so the interval covers a little more
    expect(covered / runs).toBeGreaterThan(0.936);
    expect(covered / runs).toBeLessThan(0.99);
  });

  it('refuses unpaired, single or non-positive rounds', () => {
    expect(() => pairedRatio([1, 2], [1])).toThrow(/as many rounds/);
    expect(() => pairedRatio([1], [1])).toThrow(/two rounds/);
    expect(() => pairedRatio([1, 0], [1, 1])).toThrow(/positive/);
  });
});
