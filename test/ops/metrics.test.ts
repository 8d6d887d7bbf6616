import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TalliedHistogram } from '../../src/ops/metrics.js';

const BOUNDS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

describe('the tallied histogram', () => {
  it('exports exactly what prom-client’s Histogram exports for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...BOUNDS), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 200 }),
        async (values) => {
          const ours = new Registry();
          const theirs = new Registry();
          const tallied = new TalliedHistogram(ours, 'h_seconds', 'help text', BOUNDS);
          const reference = new Histogram({
            name: 'h_seconds',
            help: 'help text',
            buckets: BOUNDS,
            registers: [theirs],
          });
          for (const v of values) {
            tallied.observe(v);
            reference.observe(v);
          }
          expect(await ours.metrics()).toBe(await theirs.metrics());
          expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
          ours.resetMetrics();
          theirs.resetMetrics();
          expect(await ours.metrics()).toBe(await theirs.metrics());
        },
      ),
      { numRuns: 100 },
    );
  });
});
