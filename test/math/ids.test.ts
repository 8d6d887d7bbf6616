import { describe, expect, it } from 'vitest';
import { newId } from '../../src/math/ids.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  // several draws of the random pool (256 IDs each)
  const ids = Array.from({ length: 20_000 }, () => newId());

  it('makes version 4 UUIDs, as crypto.randomUUID does', () => {
    for (const id of ids) expect(id).toMatch(UUID_V4);
  });

  it('never repeats one, across draws of its random bytes', () => {
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('spreads every random hex digit evenly', () => {
    // each of the 30 random digit positions: all 16 digits, each near 1/16 of the IDs
    const hex = ids.map((id) => id.replaceAll('-', ''));
    const random = [...Array(32).keys()].filter((i) => i !== 12 && i !== 16);
    for (const at of random) {
      const counts = new Map<string, number>();
      for (const h of hex) counts.set(h[at]!, (counts.get(h[at]!) ?? 0) + 1);
      expect(counts.size).toBe(16);
      // 1,250 expected; 5 standard deviations is about ±171
      for (const n of counts.values()) expect(Math.abs(n - ids.length / 16)).toBeLessThan(180);
    }
  });

  it('keeps the variant bits: byte 8 starts with binary 10', () => {
    const variants = new Set(ids.map((id) => id[19]));
    expect([...variants].sort()).toEqual(['8', '9', 'a', 'b']);
  });
});
