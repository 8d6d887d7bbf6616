import { type Rng, seededRng, standardNormal } from '../../math/random.js';

/**
 * The demo generators' draws over one seeded stream, never Math.random, so output is
 * reproducible. Its gamma is the plain Marsaglia–Tsang test, not math/random.ts's faster one:
 * the two consume the stream differently, and a seed must keep giving the same population.
 */
export class Random {
  private readonly uniform: Rng;
  private spare: number | undefined;
  private readonly keepSpare = (z: number) => {
    this.spare = z;
  };

  constructor(seed: number) {
    this.uniform = seededRng(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uniform();
  }

  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  chance(probability: number): boolean {
    return this.uniform() < probability;
  }

  /** Standard normal; Box–Muller's second value is kept for the next call. */
  normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    return standardNormal(this.uniform, this.keepSpare);
  }

  /** Gamma(shape, 1) by Marsaglia-Tsang; shapes below 1 use the boost u^(1/shape). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * (1 - this.uniform()) ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v = (1 + c * x) ** 3;
      if (v <= 0) continue;
      const u = 1 - this.uniform();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Beta(a, b) in [0, 1], mean a / (a + b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }

  /** Index drawn with probability proportional to its weight. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] ?? 0;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}
