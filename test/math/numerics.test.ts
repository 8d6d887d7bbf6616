import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logGamma } from '../../src/math/numerics.js';

const close = (actual: number, expected: number, relative = 1e-13): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(expected)));
};

describe('logGamma', () => {
  it('matches known values (references from mpmath at 40 digits)', () => {
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)));
    close(logGamma(1.5), Math.log(Math.sqrt(Math.PI) / 2));
    close(logGamma(1), 0);
    close(logGamma(2), 0);
    close(logGamma(1e-5), 11.512919692895826);
    close(logGamma(0.1), 2.252712651734206);
    close(logGamma(3.7), 1.428072326665388);
    close(logGamma(171.5), 709.1431630309282);
    close(logGamma(1e6), 12815504.569147611);
  });

  it('gives ln((n − 1)!) at the integers', () => {
    let lnFactorial = 0; // ln((n − 1)!) summed directly
    for (let n = 1; n <= 60; n++) {
      close(logGamma(n), lnFactorial);
      lnFactorial += Math.log(n);
    }
  });

  it('satisfies ln Γ(z + 1) − ln Γ(z) = ln z', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e4, noNaN: true }), (z) => {
        expect(Math.abs(logGamma(z + 1) - logGamma(z) - Math.log(z))).toBeLessThan(
          1e-12 * Math.max(1, Math.abs(logGamma(z + 1))),
        );
      }),
    );
  });
});
