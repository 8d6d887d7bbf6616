import { describe, expect, it } from 'vitest';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { CachedProfileStore } from '../../src/profiles/cache.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import type { Profile } from '../../src/profiles/schema.js';
import type { ProfileStore } from '../../src/profiles/store.js';

async function scanned(store: ProfileStore, batchSize: number): Promise<(readonly Profile[])[]> {
  const batches: (readonly Profile[])[] = [];
  for await (const batch of store.scan(batchSize)) batches.push(batch);
  return batches;
}

describe('scanning the memory profile store', () => {
  it('yields every profile once, in insertion order, in batches of batchSize', async () => {
    const profiles = generateProfiles({ customers: 2_500, seed: 7 });
    const store = new MemoryProfileStore();
    await store.putMany(profiles);
    // written again: keeps its place, the new copy comes
    const rewritten = { ...profiles[10]!, clv: 1 };
    await store.put(rewritten);
    const batches = await scanned(store, 500);
    expect(batches.map((b) => b.length)).toEqual([500, 500, 500, 500, 500]);
    const ids = batches.flat().map((p) => p.customerId);
    expect(ids).toEqual(profiles.map((p) => p.customerId));
    expect(batches[0]![10]).toEqual(rewritten);
    expect((await scanned(store, 1_000)).map((b) => b.length)).toEqual([1_000, 1_000, 500]);
  });

  it('yields nothing for an empty store, and refuses a batch size that is not a whole number ≥ 1', async () => {
    const store = new MemoryProfileStore();
    expect(await scanned(store, 10)).toEqual([]);
    for (const bad of [0, -1, 1.5, Number.NaN]) await expect(scanned(store, bad)).rejects.toThrow(RangeError);
  });

  it('the cache forwards a scan to the store, and caches nothing from it', async () => {
    const inner = new MemoryProfileStore();
    await inner.putMany(generateProfiles({ customers: 30, seed: 1 }));
    const cache = new CachedProfileStore(inner, { max: 100, ttlMs: 60_000 });
    const batches = await scanned(cache, 20);
    expect(batches.map((b) => b.length)).toEqual([20, 10]);
    expect(cache.peek(batches[0]![0]!.customerId)).toBeUndefined();
  });
});
