import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Rng, sampleBeta, sampleGamma, seededRng } from '../../src/math/random.js';

const N = 50_000;

/** bryc's reference mulberry32, written out independently, so the generator is pinned to the published algorithm. */
function referenceMulberry32(a: number): () => number {
  return () => {
    let t = (a += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  return { mean, variance: (sumSq - n * mean * mean) / (n - 1) };
}

function chiSquare(rng: Rng, n: number, buckets: number): number {
  const counts = new Array<number>(buckets).fill(0);
  for (let i = 0; i < n; i++) counts[Math.floor(rng() * buckets)]! += 1;
  const expected = n / buckets;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

// 99.9th percentile of chi-square with 9 degrees of freedom
const CHI2_9_P999 = 27.88;

describe('seededRng', () => {
  it('is deterministic per seed, differs across seeds and matches reference mulberry32', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const c = seededRng(43);
    const ref = referenceMulberry32(42);
    let differs = 0;
    for (let i = 0; i < 1_000; i++) {
      const x = a();
      expect(b()).toBe(x);
      expect(ref()).toBe(x);
      if (c() !== x) differs++;
    }
    expect(differs).toBeGreaterThan(990);
  });

  it('is roughly uniform on [0, 1)', () => {
    const n = 100_000;
    const rng = seededRng(7);
    let min = 1;
    let max = 0;
    const { mean } = moments(() => {
      const x = rng();
      min = Math.min(min, x);
      max = Math.max(max, x);
      return x;
    }, n);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // 5 standard errors of the mean of U(0,1): 5·sqrt(1/12/n) ≈ 0.0046
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(chiSquare(seededRng(7), n, 10)).toBeLessThan(CHI2_9_P999);
  });

  it('has a chi-square check that notices a small skew (so the check above can fail)', () => {
    const rng = seededRng(7);
    expect(chiSquare(() => rng() ** 1.05, 100_000, 10)).toBeGreaterThan(CHI2_9_P999);
  });
});

describe('sampleGamma', () => {
  it.each([0.3, 1, 2.5, 40])('shape %s has mean and variance equal to the shape', (shape) => {
    const rng = seededRng(1000 + shape * 10);
    const { mean, variance } = moments(() => sampleGamma(shape, rng), N);
    // ~5 standard errors: SE(mean) = sqrt(k/N); SE(variance) = k·sqrt((2 + excess kurtosis 6/k)/N)
    expect(Math.abs(mean - shape)).toBeLessThan(5 * Math.sqrt(shape / N));
    expect(Math.abs(variance - shape)).toBeLessThan(5 * shape * Math.sqrt((2 + 6 / shape) / N));
  });

  it('rejects shapes that are not finite and positive', () => {
    const rng = seededRng(1);
    for (const bad of [0, -1, Number.NaN, Infinity]) expect(() => sampleGamma(bad, rng)).toThrow(RangeError);
  });
});

describe('sampleBeta', () => {
  // the brief's four, plus a mixed small/large pair and a very U-shaped one for the log-space path
  it.each([
    [2, 5],
    [0.5, 0.5],
    [30, 300],
    [1, 1],
    [0.3, 4],
    [0.01, 0.01],
  ])('Beta(%s, %s) has the right mean and variance', (a, b) => {
    const rng = seededRng(Math.round(a * 1000 + b));
    const s = a + b;
    const trueMean = a / s;
    const trueVar = (a * b) / (s * s * (s + 1));
    const excessKurtosis = (6 * ((a - b) ** 2 * (s + 1) - a * b * (s + 2))) / (a * b * (s + 2) * (s + 3));
    const { mean, variance } = moments(() => sampleBeta(a, b, rng), N);
    // ~5 standard errors: SE(mean) = sqrt(var/N); SE(variance) = var·sqrt((2 + excess kurtosis)/N)
    expect(Math.abs(mean - trueMean)).toBeLessThan(5 * Math.sqrt(trueVar / N));
    expect(Math.abs(variance - trueVar)).toBeLessThan(5 * trueVar * Math.sqrt((2 + excessKurtosis) / N));
  });

  it('always returns a finite number in [0, 1], also for extreme parameters', () => {
    const inUnit = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= 1;
    const corners = [
      [1e-3, 1e-3],
      [1e-3, 1e6],
      [1e6, 1e-3],
      [1e6, 1e6],
    ] as const;
    const rng = seededRng(99);
    for (const [a, b] of corners) for (let i = 0; i < 5_000; i++) expect(inUnit(sampleBeta(a, b, rng))).toBe(true);
    const shape = fc.double({ min: 1e-3, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(shape, shape, fc.integer(), (a, b, seed) => {
        const r = seededRng(seed);
        for (let i = 0; i < 20; i++) if (!inUnit(sampleBeta(a, b, r))) return false;
        return true;
      }),
      { seed: 20_240_601, numRuns: 1_000 },
    );
  });

  it('rejects parameters that are not finite and positive', () => {
    const rng = seededRng(1);
    expect(() => sampleBeta(0, 1, rng)).toThrow(RangeError);
    expect(() => sampleBeta(1, Number.NaN, rng)).toThrow(RangeError);
  });
});
