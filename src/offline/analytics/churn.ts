/**
 * Churn score from recency and frequency: the BG/NBD model (Fader, Hardie & Lee 2005,
 * "Counting Your Customers the Easy Way"). While alive, a customer buys at rate λ
 * (λ ~ Gamma(r, α) across customers); after every repeat purchase they drop out for good
 * with probability p (p ~ Beta(a, b)). Time is in days throughout: tx, T, α and horizons.
 */
import { logGamma, minimize, sigmoid, softplus, tanhSinh } from '../../math/numerics.js';

/** One customer's purchase history in the model's terms, times in days. */
export interface RecencyFrequency {
  /** repeat purchases: distinct purchase days − 1 (a non-negative integer) */
  readonly x: number;
  /** days from the first purchase to the last (0 when x = 0) */
  readonly tx: number;
  /** days from the first purchase to the as-of date (tx ≤ T) */
  readonly T: number;
}

/** λ ~ Gamma(shape r, rate α per day), so the mean purchase rate is r/α per day; p ~ Beta(a, b), mean dropout a/(a+b) per purchase. */
export interface BgNbdParameters {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

export interface BgNbdFit {
  readonly params: BgNbdParameters;
  /** Σ over customers of ln L(params | x, tx, T) (a density in tx, so it may be positive) */
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** why converged is false: degenerate data or a maximum at the edge of the parameter box (params are the defaults), or the iteration cap (params are the best found) */
  readonly reason?: string;
}

/** The published CDNOW estimates (r = 0.243, α = 4.414 weeks, a = 0.793, b = 2.426) with α converted to days: a retail-like prior used when the data cannot be fitted. */
export const DEFAULT_BG_NBD_PARAMETERS: BgNbdParameters = Object.freeze({
  r: 0.243,
  alpha: 4.414 * 7,
  a: 0.793,
  b: 2.426,
});

function checkParameters(p: BgNbdParameters): void {
  for (const key of ['r', 'alpha', 'a', 'b'] as const) {
    const v = p[key];
    if (!(v > 0 && v < Infinity)) throw new RangeError(`BG/NBD parameter ${key} must be a finite number > 0, got ${v}`);
  }
}

function checkHistory(c: RecencyFrequency): void {
  const { x, tx, T } = c;
  if (!(Number.isInteger(x) && x >= 0)) throw new RangeError(`x must be a non-negative integer, got ${x}`);
  if (!(tx >= 0 && T < Infinity && tx <= T))
    throw new RangeError(`need 0 ≤ tx ≤ T < ∞ (days), got tx = ${tx}, T = ${T}`);
}

/** ln of the odds "dropped out after the last purchase" : "still alive"; −∞ for x = 0 (dropout only happens after a repeat purchase). */
function logDeadOdds(c: RecencyFrequency, p: BgNbdParameters): number {
  if (c.x === 0) return -Infinity;
  // ((α+T)/(α+tx))^(r+x) through log1p: precise when T − tx is small against α + tx
  return Math.log(p.a) - Math.log(p.b + c.x - 1) + (p.r + c.x) * Math.log1p((c.T - c.tx) / (p.alpha + c.tx));
}

/** P(alive | x, tx, T) = 1 / (1 + [x > 0] · a/(b+x−1) · ((α+T)/(α+tx))^(r+x)); 1 for x = 0. */
export function probabilityAlive(c: RecencyFrequency, p: BgNbdParameters): number {
  checkParameters(p);
  checkHistory(c);
  return sigmoid(-logDeadOdds(c, p));
}

/** churn score = 1 − P(alive), computed as the complementary logistic (keeps precision near 0), clamped to [0, 1]. */
export function churnScore(c: RecencyFrequency, p: BgNbdParameters): number {
  checkParameters(p);
  checkHistory(c);
  const s = sigmoid(logDeadOdds(c, p));
  // biome-ignore lint/complexity/useMathMinMax: a comparison sends a NaN to 0, where Math.max would pass it on
  return s > 1 ? 1 : s > 0 ? s : 0;
}

/** ln L(r, α, a, b | x, tx, T) for one customer (eq. 6 of the paper, as a log-sum-exp). */
export function bgNbdLogLikelihood(c: RecencyFrequency, p: BgNbdParameters): number {
  checkParameters(p);
  checkHistory(c);
  const { r, alpha, a, b } = p;
  const base =
    logGamma(r + c.x) -
    logGamma(r) +
    r * Math.log(alpha) +
    logGamma(a + b) +
    logGamma(b + c.x) -
    logGamma(b) -
    logGamma(a + b + c.x);
  const alive = -(r + c.x) * Math.log(alpha + c.T);
  if (c.x === 0) return base + alive;
  const dead = Math.log(a) - Math.log(b + c.x - 1) - (r + c.x) * Math.log(alpha + c.tx);
  return base + Math.max(alive, dead) + Math.log1p(Math.exp(-Math.abs(alive - dead)));
}

const SERIES_MAX_Z = 0.95; // beyond, the series needs thousands of terms: integrate instead
const SERIES_MAX_TERMS = 100_000;

/**
 * The paper's eq. 10 given alive: (a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)], z = t/(α+T+t).
 * Euler's transformation 2F1(A, B; C; z) = (1−z)^(C−A−B) · 2F1(C−A, C−B; C; z) makes the bracket
 * 1 − (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z), whose numerator parameters no longer grow with x (no overflow
 * for heavy buyers); writing that 2F1 as 1 + (a−1)·H cancels the 1/(a−1) exactly, so a = 1 is no singularity.
 * Returns undefined when the series is slow, overflows or cancels too much to trust.
 */
function aliveSeries(t: number, c: RecencyFrequency, p: BgNbdParameters): number | undefined {
  const { r, alpha, a, b } = p;
  const s = t / (alpha + c.T);
  const z = s / (1 + s);
  if (!(z <= SERIES_MAX_Z)) return undefined;
  const lnOneMinusZ = -Math.log1p(s);
  const u = (a - 1) * lnOneMinusZ;
  const e1 = -lnOneMinusZ * (u === 0 ? 1 : Math.expm1(u) / u); // (1 − (1−z)^(a−1)) / (a−1), no division by a − 1
  const A = a + b - 1 - r;
  const C = a + b + c.x - 1;
  let term = (A * z) / C;
  let sum = term;
  let magnitude = Math.abs(term); // Σ |term|: the scale of the rounding errors
  for (let n = 1; n < SERIES_MAX_TERMS; n++) {
    // an upper bound on every later term ratio, so the tail is below |term|·ρ/(1 − ρ)
    const rho = z * Math.max(1, (a - 1 + n) / (n + 1)) * Math.max(1, Math.abs(A + n) / (C + n));
    if (rho < 1 && Math.abs(term) * rho <= 1e-17 * (1 - rho) * (Math.abs(sum) + e1)) {
      const scaled = Math.exp(u);
      const value = C * (e1 - scaled * sum);
      // the n-th term, built by n multiplications, is off by up to n·1e-16 of itself: refuse results that cancelled to that level
      if (!(value >= 0 && value < Infinity) || C * (scaled * magnitude * n + e1) * 1e-16 > 1e-10 * value)
        return undefined;
      return value;
    }
    term *= ((A + n) * (a + n - 1) * z) / ((C + n) * (n + 1));
    sum += term;
    magnitude += Math.abs(term);
    if (!(magnitude < Infinity)) return undefined;
  }
  return undefined;
}

/**
 * The same expectation as an integral over the posterior of p: given alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x),
 * and E[purchases in t | λ, p] = (1 − e^(−λpt))/p, so E = ∫ (1 − (1 + p·t/(α+T))^−(r+x))/p · Beta(p; a, b+x) dp,
 * by tanh–sinh quadrature on [0, m] and [m, 1] split at the posterior mean m: the nodes crowd at both ends of each
 * piece, so they catch the Beta density's endpoint singularities and the peak of a concentrated posterior alike.
 */
function aliveQuadrature(t: number, c: RecencyFrequency, p: BgNbdParameters): number {
  const k = p.r + c.x;
  const a = p.a;
  const beta = p.b + c.x;
  const s = t / (p.alpha + c.T);
  const lnBeta = logGamma(a) + logGamma(beta) - logGamma(a + beta);
  const m = a / (a + beta);
  const rest = beta / (a + beta); // 1 − m without the cancellation
  const lnM = Math.log(m);
  const lnRest = Math.log(rest);
  // far enough out that p^a and (1−p)^beta are below e^−40 at the ends
  const uMax = Math.min(20, Math.max(4, Math.asinh(40 / (Math.PI * Math.min(a, beta)))));
  const term = (lnP: number, lnQ: number, lnJacobian: number): number => {
    const w = Math.exp((a - 1) * lnP + (beta - 1) * lnQ - lnBeta + lnJacobian);
    if (w === 0) return 0;
    const pp = Math.exp(lnP);
    return w * (pp < 1e-300 ? k * s : -Math.expm1(-k * Math.log1p(pp * s)) / pp); // (1 − (1+ps)^−k)/p → k·s as p → 0
  };
  const f = (u: number): number => {
    const v = (Math.PI / 2) * Math.sinh(u);
    const lnUp = -softplus(-2 * v); // ln σ(2v), running from 0 to 1
    const lnDown = -softplus(2 * v); // ln σ(−2v) = ln(1 − σ(2v))
    const lnSlope = lnUp + lnDown + Math.log(Math.PI * Math.cosh(u)); // ln dσ(2v)/du
    const up = Math.exp(lnUp);
    const down = Math.exp(lnDown);
    // p = m·σ(2v) on [0, m], and p = m + (1 − m)·σ(2v) on [m, 1], every logarithm taken of a sum of positives
    return (
      term(lnM + lnUp, Math.log(rest + m * down), lnM + lnSlope) +
      term(Math.log(m + rest * up), lnRest + lnDown, lnRest + lnSlope)
    );
  };
  return tanhSinh(f, uMax);
}

/**
 * E[purchases in the next t days | alive, x, tx, T]. `series` and `quadrature` force one method (for tests); `auto` uses
 * the 2F1 series for z = t/(α+T+t) ≤ 0.95 and the quadrature otherwise or when the series cannot vouch for its result.
 */
export function expectedPurchasesIfAlive(
  t: number,
  c: RecencyFrequency,
  p: BgNbdParameters,
  method: 'auto' | 'series' | 'quadrature' = 'auto',
): number {
  checkParameters(p);
  checkHistory(c);
  if (!(t >= 0 && t < Infinity)) throw new RangeError(`the horizon t must be a finite number of days ≥ 0, got ${t}`);
  if (t === 0) return 0;
  if (method === 'quadrature') return aliveQuadrature(t, c, p);
  const series = aliveSeries(t, c, p);
  if (method === 'series') return series ?? NaN;
  return series ?? aliveQuadrature(t, c, p);
}

/** E[Y(t) | x, tx, T]: expected purchases in the next t days = P(alive) · E[purchases | alive] (eq. 10 of the paper). */
export function expectedPurchases(t: number, c: RecencyFrequency, p: BgNbdParameters): number {
  return expectedPurchasesIfAlive(t, c, p) * probabilityAlive(c, p);
}

/** Customers with identical (x, tx, T) share one likelihood term: integer days make the groups few. */
interface Groups {
  readonly xs: Float64Array; // distinct x values
  readonly times: Float64Array; // distinct tx and T values
  readonly gx: Uint32Array; // per group: index into xs
  readonly gtx: Uint32Array; // per group: index into times
  readonly gT: Uint32Array;
  readonly weight: Float64Array; // customers in the group
  readonly customers: number;
  readonly repeaters: number;
}

const KEY_SPAN = 2 ** 21; // (x < 2^11, tx ≤ T < 2^21 integers) pack into one exact double

function groupHistories(customers: Iterable<RecencyFrequency>): Groups {
  const groups = new Map<number | string, number>();
  const xIndex = new Map<number, number>();
  const timeIndex = new Map<number, number>();
  const gx: number[] = [];
  const gtx: number[] = [];
  const gT: number[] = [];
  const weight: number[] = [];
  const indexOf = (m: Map<number, number>, v: number): number => {
    let i = m.get(v);
    if (i === undefined) m.set(v, (i = m.size));
    return i;
  };
  let customersSeen = 0;
  let repeaters = 0;
  for (const c of customers) {
    try {
      checkHistory(c);
    } catch (e) {
      throw new RangeError(`customer #${customersSeen}: ${(e as Error).message}`);
    }
    const { x, T } = c;
    const tx = x === 0 ? 0 : c.tx; // tx carries no information without a repeat purchase
    customersSeen++;
    if (x > 0) repeaters++;
    const packable = x < 2048 && T < KEY_SPAN && Number.isInteger(tx) && Number.isInteger(T);
    const key = packable ? (x * KEY_SPAN + tx) * KEY_SPAN + T : `${x}:${tx}:${T}`;
    const g = groups.get(key);
    if (g !== undefined) {
      weight[g]! += 1;
      continue;
    }
    groups.set(key, weight.length);
    gx.push(indexOf(xIndex, x));
    gtx.push(indexOf(timeIndex, tx));
    gT.push(indexOf(timeIndex, T));
    weight.push(1);
  }
  const xs = Float64Array.from(xIndex.keys());
  const times = Float64Array.from(timeIndex.keys());
  // a canonical order makes the floating-point sums, and so the fit, independent of the input order
  const order = weight
    .map((_, k) => k)
    .sort((i, j) => xs[gx[i]!]! - xs[gx[j]!]! || times[gT[i]!]! - times[gT[j]!]! || times[gtx[i]!]! - times[gtx[j]!]!);
  return {
    xs,
    times,
    gx: Uint32Array.from(order, (k) => gx[k]!),
    gtx: Uint32Array.from(order, (k) => gtx[k]!),
    gT: Uint32Array.from(order, (k) => gT[k]!),
    weight: Float64Array.from(order, (k) => weight[k]!),
    customers: customersSeen,
    repeaters,
  };
}

// the optimiser's box on ln r, ln α, ln a, ln b: wide enough for any real population in days
const LOG_MIN = Math.log(1e-6);
const LOG_MAX = Math.log(1e8);

/** −Σ ln L over all customers as a function of (ln r, ln α, ln a, ln b); +∞ outside the box. */
function negativeLogLikelihood(g: Groups): (theta: readonly number[]) => number {
  const base = new Float64Array(g.xs.length);
  const deadShift = new Float64Array(g.xs.length);
  const power = new Float64Array(g.xs.length);
  const lnTime = new Float64Array(g.times.length);
  return (theta) => {
    for (const v of theta) if (!(v >= LOG_MIN && v <= LOG_MAX)) return Infinity;
    const [r, alpha, a, b] = theta.map(Math.exp) as [number, number, number, number];
    const shared = -logGamma(r) + r * Math.log(alpha) + logGamma(a + b) - logGamma(b);
    const lnA = Math.log(a);
    for (let i = 0; i < g.xs.length; i++) {
      const x = g.xs[i]!;
      base[i] = shared + logGamma(r + x) + logGamma(b + x) - logGamma(a + b + x);
      deadShift[i] = x > 0 ? lnA - Math.log(b + x - 1) : -Infinity;
      power[i] = r + x;
    }
    for (let j = 0; j < g.times.length; j++) lnTime[j] = Math.log(alpha + g.times[j]!);
    let total = 0;
    for (let k = 0; k < g.weight.length; k++) {
      const i = g.gx[k]!;
      const alive = -power[i]! * lnTime[g.gT[k]!]!;
      const dead = deadShift[i]! - power[i]! * lnTime[g.gtx[k]!]!;
      const ll = alive >= dead ? alive + Math.log1p(Math.exp(dead - alive)) : dead + Math.log1p(Math.exp(alive - dead));
      total += g.weight[k]! * (base[i]! + ll);
    }
    return Number.isNaN(total) ? Infinity : -total;
  };
}

const toParameters = (theta: readonly number[]): BgNbdParameters => {
  const [r, alpha, a, b] = theta.map(Math.exp) as [number, number, number, number];
  return { r, alpha, a, b };
};
const toTheta = (p: BgNbdParameters): number[] => [p.r, p.alpha, p.a, p.b].map(Math.log);

/**
 * Maximum-likelihood BG/NBD fit: Nelder–Mead on (ln r, ln α, ln a, ln b) over the customers grouped by identical
 * (x, tx, T), deterministic and independent of input order. Data that cannot identify the four parameters (no customers,
 * no repeat purchase, one distinct history, or a likelihood still rising at the edge of [1e-6, 1e8]) give
 * DEFAULT_BG_NBD_PARAMETERS with converged: false and a reason; hitting maxIterations gives the best point so far.
 */
export function fitBgNbd(customers: Iterable<RecencyFrequency>, options: { maxIterations?: number } = {}): BgNbdFit {
  const maxIterations = options.maxIterations ?? 5000;
  if (!(Number.isInteger(maxIterations) && maxIterations >= 0))
    throw new RangeError(`maxIterations must be an integer ≥ 0, got ${maxIterations}`);
  const groups = groupHistories(customers);
  const objective = negativeLogLikelihood(groups);
  const fallback = (reason: string): BgNbdFit => ({
    params: DEFAULT_BG_NBD_PARAMETERS,
    logLikelihood: -objective(toTheta(DEFAULT_BG_NBD_PARAMETERS)),
    iterations: 0,
    converged: false,
    reason,
  });
  if (groups.customers === 0) return fallback('no customers: using the default parameters');
  if (groups.repeaters === 0)
    return fallback('no customer has a repeat purchase, so dropout cannot be estimated: using the default parameters');
  if (groups.weight.length === 1)
    return fallback(
      'every customer has the same (x, tx, T): one history cannot identify four parameters, using the default parameters',
    );
  // start from r = a = b = 1 and the α that matches the observed purchase rate Σx / ΣT
  let sumX = 0;
  let sumT = 0;
  for (let k = 0; k < groups.weight.length; k++) {
    sumX += groups.weight[k]! * groups.xs[groups.gx[k]!]!;
    sumT += groups.weight[k]! * groups.times[groups.gT[k]!]!;
  }
  const alpha0 = Math.min(Math.max(sumT / sumX, 1e-3), 1e6);
  const m = minimize(objective, [0, Math.log(alpha0), 0, 0], maxIterations);
  if (!(m.value < Infinity))
    return fallback('the likelihood is not finite anywhere the optimiser looked: using the default parameters');
  // a maximum at the edge of the box (tiny or lopsided data) gives absurd scores: the prior is the safer answer
  const atBound = (['r', 'alpha', 'a', 'b'] as const).filter((_, i) => m.x[i]! < LOG_MIN + 1 || m.x[i]! > LOG_MAX - 1);
  if (atBound.length > 0) {
    const best = toParameters(m.x);
    const found = atBound.map((k) => `${k} = ${best[k].toPrecision(3)}`).join(', ');
    return {
      ...fallback(
        `the likelihood keeps rising towards ${found} (the data do not identify the model): using the default parameters`,
      ),
      iterations: m.iterations,
    };
  }
  const result = { params: toParameters(m.x), logLikelihood: -m.value, iterations: m.iterations };
  if (!m.converged)
    return {
      ...result,
      converged: false,
      reason: `no convergence within ${maxIterations} iterations; params are the best found`,
    };
  return { ...result, converged: true };
}
