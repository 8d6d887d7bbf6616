/** Uniform numbers in [0, 1). */
export type Rng = () => number;

/** A small seeded generator (mulberry32) for reproducible populations, simulations and tests. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a seed and a stream number into an independent 32-bit seed (splitmix-style finaliser). */
export function mixSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul((stream + 0x7f4a7c15) | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Box–Muller: a standard normal from two uniform draws; the pair's other normal goes to `spare` when one is given. */
export function standardNormal(rng: Rng, spare?: (z: number) => void): number {
  const u = 1 - rng(); // in (0, 1], so the log stays finite
  const angle = 2 * Math.PI * rng();
  const radius = Math.sqrt(-2 * Math.log(u));
  spare?.(radius * Math.sin(angle));
  return radius * Math.cos(angle);
}

/** Marsaglia–Tsang (2000) for shape ≥ 1; the result is always > 0 (a tiny v fails the log test). */
function gammaAtLeastOne(shape: number, rng: Rng): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = standardNormal(rng);
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = rng();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v; // the squeeze accepts most draws without a log
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v; // log(0) = -Infinity accepts, as it should
  }
}

/** log Gamma(shape, 1) draw; for shape < 1 the boost in log space, where U^(1/shape) would underflow to 0. */
function logGammaDraw(shape: number, rng: Rng): number {
  if (shape >= 1) return Math.log(gammaAtLeastOne(shape, rng));
  return Math.log(gammaAtLeastOne(shape + 1, rng)) + Math.log(1 - rng()) / shape;
}

function checkShape(name: string, shape: number): void {
  // a zero, negative, NaN or infinite shape would make Marsaglia–Tsang return NaN or Infinity
  if (!(shape > 0 && shape < Infinity)) throw new RangeError(`${name} must be a finite number > 0, got ${shape}`);
}

/** Gamma(shape, 1) by Marsaglia–Tsang (2000); for shape < 1 use the boost Gamma(shape+1)·U^(1/shape). */
export function sampleGamma(shape: number, rng: Rng): number {
  checkShape('shape', shape);
  if (shape >= 1) return gammaAtLeastOne(shape, rng);
  // tiny shapes may underflow to 0, a faithful rounding of a value below 5e-324
  return gammaAtLeastOne(shape + 1, rng) * (1 - rng()) ** (1 / shape);
}

/** Beta(alpha, beta) from two gamma draws; alpha, beta > 0. Always returns a finite number in [0, 1]. */
export function sampleBeta(alpha: number, beta: number, rng: Rng): number {
  checkShape('alpha', alpha);
  checkShape('beta', beta);
  if (alpha >= 1 && beta >= 1) {
    const x = gammaAtLeastOne(alpha, rng);
    return x / (x + gammaAtLeastOne(beta, rng));
  }
  // both small-shape draws can underflow to 0, and 0 / 0 is NaN: compare them in log space instead
  const logRatio = logGammaDraw(beta, rng) - logGammaDraw(alpha, rng);
  return 1 / (1 + Math.exp(logRatio));
}
