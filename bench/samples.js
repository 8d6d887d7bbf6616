// Exact percentiles over recorded latencies (autocannon's own histogram rounds to whole ms).

export class Samples {
  values = new Float64Array(1 << 16);
  length = 0;

  add(value) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  /** {p50, p99, p99_9, max} of what was recorded, in the unit recorded. */
  percentiles() {
    const sorted = this.values.slice(0, this.length).sort();
    const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
    return { p50: at(0.5), p99: at(0.99), p99_9: at(0.999), max: at(1), count: sorted.length };
  }
}
