// Reads a Prometheus histogram from /metrics text and estimates quantiles from its buckets.

/** Cumulative bucket counts {le → count}, summed over every label set (e.g. both channels). */
export function parseHistogram(text, name) {
  const buckets = new Map();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + count);
  }
  return new Map([...buckets].sort((a, b) => a[0] - b[0]));
}

/** The observations between two readings of the same histogram. */
export function diffHistogram(after, before = new Map()) {
  return new Map([...after].map(([le, count]) => [le, count - (before.get(le) ?? 0)]));
}

/**
 * Like PromQL's histogram_quantile: linear interpolation inside the bucket holding the
 * q-th observation. Returns {seconds, beyondLastBucket}; past the last finite bound it returns that bound.
 */
export function quantile(histogram, q) {
  const total = histogram.get(Infinity) ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of histogram) {
    if (count >= rank) {
      if (le === Infinity) return { seconds: lower, beyondLastBucket: true };
      const inBucket = count - below;
      return { seconds: lower + (le - lower) * (inBucket ? (rank - below) / inBucket : 1), beyondLastBucket: false };
    }
    lower = le;
    below = count;
  }
  return null;
}

export const total = (histogram) => histogram.get(Infinity) ?? 0;

/** A gauge's value (the first sample of that name), or null. */
export function gauge(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

/** {count, seconds} summed over every label set of a histogram's _count and _sum lines. */
export function histogramTotals(text, name) {
  const totals = { count: 0, seconds: 0 };
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_count`)) totals.count += value;
    else if (line.startsWith(`${name}_sum`)) totals.seconds += value;
  }
  return totals;
}

/** A counter summed over every label set (those holding `label`, e.g. 'outcome="degraded"', when given), or null when /metrics has no such counter. */
export function counterTotal(text, name, label) {
  let sum = null;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue;
    sum ??= 0;
    if (label === undefined || line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
