/**
 * The statistics of the impact report. Distributions (Student's t, the normal) come from
 * jstat; the formulas below are written out here, each with its source:
 * - Welch's t interval and test for a difference of means (Welch 1947), with the
 *   Welch–Satterthwaite degrees of freedom.
 * - Wilson's score interval for a proportion (Wilson 1927), combined into Newcombe's hybrid
 *   score interval for a difference of proportions (Newcombe 1998, method 10); the p-value is
 *   the pooled two-proportion z-test.
 * - CUPED (Deng, Xu, Kohavi, Walker 2013): θ = cov(Y, X) / var(X) pooled over both arms, each
 *   customer's outcome adjusted to Y − θ(X − mean X), then Welch on the adjusted outcomes.
 * - The minimum detectable effect of a two-sided 5 % test at 80 % power: (z₀.₉₇₅ + z₀.₈) × SE.
 * - Holm's step-down adjustment of p-values for several groups (Holm 1979).
 */
import jstatModule from 'jstat';

const { jStat } = jstatModule as unknown as typeof import('jstat');

/** Two-sided 95 %. */
export const CONFIDENCE = 0.95;
/** The power the minimum detectable effect is stated for. */
export const POWER = 0.8;
const Z = jStat.normal.inv(1 - (1 - CONFIDENCE) / 2, 0, 1);
const Z_POWER = jStat.normal.inv(POWER, 0, 1);

/**
 * Running count, means, squared deviations and co-deviation of an outcome Y and its covariate
 * X, updated one customer at a time (Welford), so large sums never cancel.
 */
export class Moments {
  n = 0;
  meanX = 0;
  meanY = 0;
  /** Σ (x − mean x)² */
  m2X = 0;
  /** Σ (y − mean y)² */
  m2Y = 0;
  /** Σ (x − mean x)(y − mean y) */
  cXY = 0;

  add(x: number, y: number): void {
    this.n++;
    const dx = x - this.meanX;
    this.meanX += dx / this.n;
    const dy = y - this.meanY;
    this.meanY += dy / this.n;
    this.m2X += dx * (x - this.meanX);
    this.m2Y += dy * (y - this.meanY);
    this.cXY += dx * (y - this.meanY);
  }

  /** The moments of both samples together (Chan et al.'s pairwise update). */
  static merged(a: Moments, b: Moments): Moments {
    const m = new Moments();
    m.n = a.n + b.n;
    if (m.n === 0) return m;
    const dx = b.meanX - a.meanX;
    const dy = b.meanY - a.meanY;
    const w = (a.n * b.n) / m.n;
    m.meanX = a.meanX + (dx * b.n) / m.n;
    m.meanY = a.meanY + (dy * b.n) / m.n;
    m.m2X = a.m2X + b.m2X + dx * dx * w;
    m.m2Y = a.m2Y + b.m2Y + dy * dy * w;
    m.cXY = a.cXY + b.cXY + dx * dy * w;
    return m;
  }

  /** Sample variances (n − 1) and covariance. */
  get varX(): number {
    return this.n > 1 ? this.m2X / (this.n - 1) : 0;
  }
  get varY(): number {
    return this.n > 1 ? this.m2Y / (this.n - 1) : 0;
  }
  get covXY(): number {
    return this.n > 1 ? this.cXY / (this.n - 1) : 0;
  }
}

export interface Difference {
  readonly difference: number;
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly standardError: number;
  readonly pValue: number;
}

/** A two-sided p-value from a statistic's distribution function at |statistic|. */
const twoSided = (cdfAtAbs: number) => Math.min(1, 2 * (1 - cdfAtAbs));

/**
 * Welch's interval and test for mean(treatment) − mean(control), from each arm's mean,
 * sample variance and size (each at least 2).
 */
export function welch(
  treatment: { mean: number; variance: number; n: number },
  control: { mean: number; variance: number; n: number },
): Difference {
  const d = treatment.mean - control.mean;
  const a = treatment.variance / treatment.n;
  const b = control.variance / control.n;
  const se = Math.sqrt(a + b);
  if (se === 0) return { difference: d, ciLow: d, ciHigh: d, standardError: 0, pValue: d === 0 ? 1 : 0 };
  const df = (a + b) ** 2 / (a ** 2 / (treatment.n - 1) + b ** 2 / (control.n - 1));
  const t = jStat.studentt.inv(1 - (1 - CONFIDENCE) / 2, df);
  return {
    difference: d,
    ciLow: d - t * se,
    ciHigh: d + t * se,
    standardError: se,
    pValue: twoSided(jStat.studentt.cdf(Math.abs(d) / se, df)),
  };
}

/** Wilson's score interval for x successes of n. */
export function wilson(x: number, n: number): { low: number; high: number } {
  const p = x / n;
  const z2 = Z * Z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * p(treatment) − p(control): Newcombe's hybrid score interval, and the pooled two-proportion
 * z-test's p-value.
 */
export function newcombe(treatment: { x: number; n: number }, control: { x: number; n: number }): Difference {
  const p1 = treatment.x / treatment.n;
  const p2 = control.x / control.n;
  const d = p1 - p2;
  const w1 = wilson(treatment.x, treatment.n);
  const w2 = wilson(control.x, control.n);
  const pooled = (treatment.x + control.x) / (treatment.n + control.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / treatment.n + 1 / control.n));
  return {
    difference: d,
    ciLow: d - Math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2),
    ciHigh: d + Math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2),
    standardError: se,
    pValue: se === 0 ? 1 : twoSided(jStat.normal.cdf(Math.abs(d) / se, 0, 1)),
  };
}

export interface Cuped extends Difference {
  readonly theta: number;
  /** 1 − (SE after CUPED / SE before)²: the share of the difference's variance taken out */
  readonly varianceReduction: number;
}

/**
 * The CUPED difference of means: θ from both arms pooled, each arm's mean and variance of
 * Y − θ(X − mean X) derived from its moments, then Welch.
 */
export function cuped(treatment: Moments, control: Moments): Cuped {
  const pooled = Moments.merged(treatment, control);
  const theta = pooled.varX > 0 ? pooled.covXY / pooled.varX : 0;
  const adjusted = (m: Moments) => ({
    mean: m.meanY - theta * (m.meanX - pooled.meanX),
    variance: Math.max(0, m.varY + theta * theta * m.varX - 2 * theta * m.covXY),
    n: m.n,
  });
  const plain = welch(
    { mean: treatment.meanY, variance: treatment.varY, n: treatment.n },
    { mean: control.meanY, variance: control.varY, n: control.n },
  );
  const after = welch(adjusted(treatment), adjusted(control));
  return {
    ...after,
    theta,
    varianceReduction: plain.standardError > 0 ? 1 - (after.standardError / plain.standardError) ** 2 : 0,
  };
}

/** The smallest true difference a two-sided 5 % test detects with 80 % power, at this standard error. */
export const minimumDetectableEffect = (standardError: number) => (Z + Z_POWER) * standardError;

/** Holm's adjusted p-values, in the order given. */
export function holm(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(pValues.length);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (pValues.length - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
