// The statistic of npm run bench:ab: how much B costs against A, from rounds measured in pairs.
import jstatModule from 'jstat';

const { jStat } = jstatModule;

/**
 * B ÷ A from paired measurements (a[i] and b[i] taken in the same round, so the machine's drift
 * from round to round cancels): the geometric mean of the rounds' ratios, with a t-interval on
 * their logarithms at `level`. Needs two rounds at least, every value positive.
 */
export function pairedRatio(a, b, level = 0.95) {
  if (a.length !== b.length) throw new Error('pairedRatio: as many rounds of A as of B');
  if (a.length < 2) throw new Error('pairedRatio: two rounds at least');
  if (![...a, ...b].every((x) => Number.isFinite(x) && x > 0)) throw new Error('pairedRatio: positive values only');
  const logs = a.map((x, i) => Math.log(b[i] / x));
  const n = logs.length;
  const mean = logs.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = jStat.studentt.inv(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return {
    n,
    level,
    ratio: Math.exp(mean),
    low: Math.exp(mean - half),
    high: Math.exp(mean + half),
    rounds: logs.map(Math.exp),
  };
}
