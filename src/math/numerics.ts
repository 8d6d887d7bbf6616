/** Numerical building blocks: the log-gamma function, stable logistic functions, tanh–sinh quadrature, Nelder–Mead minimisation. */

// Lanczos g = 7, n = 9 (the widely published coefficient set): relative error ~1e-15
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(z) for z > 0 (Lanczos; the reflection formula below 0.5). */
export function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const y = z - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) sum += LANCZOS[i]! / (y + i);
  const t = y + 7.5;
  return HALF_LN_2PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln(1 + eʸ), without overflow for large y or loss for very negative y. */
export const softplus = (y: number): number => (y > 0 ? y + Math.log1p(Math.exp(-y)) : Math.log1p(Math.exp(y)));
/** 1 / (1 + e⁻ʸ), without overflow at either end. */
export const sigmoid = (y: number): number => (y >= 0 ? 1 / (1 + Math.exp(-y)) : Math.exp(y) / (1 + Math.exp(y)));

/**
 * ∫ f(u) du over [−uMax, uMax] by the trapezoid rule from step ½, halving the step until two
 * estimates agree to 1e-12 (at most 10 halvings). `f` carries the tanh–sinh substitution and its
 * Jacobian, so the error roughly squares with each halving.
 */
export function tanhSinh(f: (u: number) => number, uMax: number): number {
  let h = 0.5;
  let sum = f(0);
  for (let j = 1; j * h <= uMax; j++) sum += f(j * h) + f(-j * h);
  let estimate = sum * h;
  for (let level = 1; level <= 10; level++) {
    h /= 2;
    for (let j = 1; j * h <= uMax; j += 2) sum += f(j * h) + f(-j * h);
    const next = sum * h;
    // the error roughly squares with each halving: this difference is about the error of `estimate`, and `next` is far better
    if (level >= 2 && Math.abs(next - estimate) <= 1e-12 * Math.abs(next)) return next;
    estimate = next;
  }
  return estimate;
}

export interface Minimum {
  readonly x: number[];
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** One Nelder–Mead run (reflection 1, expansion 2, contraction ½, shrink ½) from an axis-aligned simplex of side `step`. */
function nelderMead(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  step: number,
  maxIterations: number,
): Minimum {
  const n = start.length;
  const points = [start.slice()];
  for (let i = 0; i < n; i++) points.push(start.map((v, j) => (j === i ? v + step : v)));
  const values = points.map(f);
  const along = (from: readonly number[], to: readonly number[], t: number): number[] =>
    from.map((v, j) => v + t * (to[j]! - v));
  let iterations = 0;
  for (;;) {
    const order = values.map((_, i) => i).sort((i, j) => values[i]! - values[j]!);
    const sorted = order.map((i) => points[i]!);
    const sortedValues = order.map((i) => values[i]!);
    points.splice(0, n + 1, ...sorted);
    values.splice(0, n + 1, ...sortedValues);
    const best = values[0]!;
    const worst = values[n]!;
    const spread = Math.max(...points.slice(1).map((p) => Math.max(...p.map((v, j) => Math.abs(v - points[0]![j]!)))));
    if (worst - best <= 1e-12 * (1 + Math.abs(best)) && spread <= 1e-7)
      return { x: points[0]!, value: best, iterations, converged: true };
    if (iterations >= maxIterations) return { x: points[0]!, value: best, iterations, converged: false };
    iterations++;
    const centroid = start.map((_, j) => points.slice(0, n).reduce((s, p) => s + p[j]!, 0) / n);
    const reflected = along(centroid, points[n]!, -1);
    const fr = f(reflected);
    if (fr < best) {
      const expanded = along(centroid, points[n]!, -2);
      const fe = f(expanded);
      [points[n], values[n]] = fe < fr ? [expanded, fe] : [reflected, fr];
    } else if (fr < values[n - 1]!) {
      [points[n], values[n]] = [reflected, fr];
    } else {
      // contract towards the better of the worst point and its reflection; shrink if even that fails
      const outside = fr < worst;
      const contracted = along(centroid, outside ? reflected : points[n]!, 0.5);
      const fc = f(contracted);
      if (fc < (outside ? fr : worst)) {
        [points[n], values[n]] = [contracted, fc];
      } else {
        for (let i = 1; i <= n; i++) {
          points[i] = along(points[0]!, points[i]!, 0.5);
          values[i] = f(points[i]!);
        }
      }
    }
  }
}

/** Nelder–Mead restarted from its own answer until a restart no longer improves it: guards against a collapsed simplex. */
export function minimize(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  maxIterations: number,
): Minimum {
  let m = nelderMead(f, start, 1, maxIterations);
  let iterations = m.iterations;
  for (let restart = 0; restart < 5 && m.converged; restart++) {
    const again = nelderMead(f, m.x, 0.25, maxIterations - iterations);
    iterations += again.iterations;
    const improved = m.value - again.value > 1e-10 * (1 + Math.abs(again.value));
    m = again.value <= m.value ? again : { ...m, converged: again.converged };
    if (!improved) break;
  }
  return { ...m, iterations };
}
