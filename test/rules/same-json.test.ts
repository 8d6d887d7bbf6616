import { describe, expect, it } from 'vitest';
import { sameJson } from '../../src/rules/same-json.js';

describe('sameJson', () => {
  it('ignores key order and undefined fields, not array order', () => {
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
  });

  it('treats keys named like Object.prototype members as plain keys', () => {
    expect(sameJson({ toString: 1 }, { hasOwnProperty: 1 })).toBe(false);
  });
});
