import { describe, expect, it } from 'vitest';
import { CachedProfileStore, type CacheStats } from '../../src/profiles/cache.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import { Profile } from '../../src/profiles/schema.js';
import type { ProfileStore } from '../../src/profiles/store.js';

/** A memory store whose get() can fail, or be held: it reads at once and answers when released. */
class ControlledStore implements ProfileStore {
  readonly kind = 'controlled';
  readonly memory = new MemoryProfileStore();
  readonly calls: string[] = [];
  mode: 'ok' | 'fail' | 'hold' = 'ok';
  private readonly held: (() => void)[] = [];

  async get(customerId: string): Promise<Profile | undefined> {
    this.calls.push(customerId);
    if (this.mode === 'fail') throw new Error('store down');
    const value = await this.memory.get(customerId);
    if (this.mode === 'hold') await new Promise<void>((resolve) => this.held.push(resolve));
    return value;
  }

  get waiting(): number {
    return this.held.length;
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  put = (p: Profile) => this.memory.put(p);
  putMany = (ps: readonly Profile[]) => this.memory.putMany(ps);
  size = () => this.memory.size();
  scan = (batchSize: number) => this.memory.scan(batchSize);
}

const profile = (customerId: string, clv: number) =>
  Profile.parse({
    customerId,
    valueSegment: 'top',
    lifecyclePhase: 'loyalty',
    clv,
    churnScore: 0.2,
    consents: ['web'],
  });

function counting() {
  const n = { hit: 0, stale: 0, miss: 0 };
  const stats: CacheStats = { hit: () => void n.hit++, stale: () => void n.stale++, miss: () => void n.miss++ };
  return { n, stats };
}

async function setup(options = { max: 100, ttlMs: 60_000 }) {
  const store = new ControlledStore();
  await store.memory.putMany([profile('C1', 100), profile('C2', 200)]);
  const { n, stats } = counting();
  return { store, n, cache: new CachedProfileStore(store, options, stats) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const clvOf = (p: Profile | null | undefined) => p?.clv;

describe('CachedProfileStore', () => {
  it('counts a miss, then hits, asking the store once', async () => {
    const { store, n, cache } = await setup();
    expect(clvOf(await cache.get('C1'))).toBe(100);
    expect(clvOf(await cache.get('C1'))).toBe(100);
    expect(clvOf(cache.peek('C1'))).toBe(100);
    expect(store.calls).toEqual(['C1']);
    expect(n).toEqual({ hit: 2, stale: 0, miss: 1 });
  });

  it('caches an unknown customer as absent', async () => {
    const { store, n, cache } = await setup();
    expect(cache.peek('nobody')).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(await cache.get('nobody')).toBeUndefined();
    expect(cache.peek('nobody')).toBeNull();
    expect(store.calls).toEqual(['nobody']);
    expect(n).toEqual({ hit: 3, stale: 0, miss: 1 });
  });

  it('drops the entry on put and putMany so the next get sees the new profile', async () => {
    const { store, cache } = await setup();
    await cache.get('C1');
    await cache.get('C2');
    await cache.get('C3');
    await cache.put(profile('C1', 111));
    expect(clvOf(await cache.get('C1'))).toBe(111);
    await cache.putMany([profile('C2', 222), profile('C3', 333)]);
    expect(clvOf(await cache.get('C2'))).toBe(222);
    expect(clvOf(await cache.get('C3'))).toBe(333);
    expect(store.calls).toEqual(['C1', 'C2', 'C3', 'C1', 'C2', 'C3']);
  });

  it('invalidate() drops entries written elsewhere and says how many it dropped', async () => {
    const { store, cache } = await setup();
    await cache.get('C1');
    await cache.get('C2');
    await store.memory.put(profile('C1', 101));
    expect(clvOf(await cache.get('C1'))).toBe(100); // not told yet
    expect(cache.invalidate(['C1', 'C2', 'never-cached'])).toBe(2);
    expect(cache.invalidate(['C1'])).toBe(0);
    expect(clvOf(await cache.get('C1'))).toBe(101);
  });

  it('serves a stale entry at once and refreshes it in the background exactly once', async () => {
    const { store, n, cache } = await setup({ max: 100, ttlMs: 100 });
    await cache.get('C1');
    await sleep(130);
    await store.memory.put(profile('C1', 150));
    store.mode = 'hold';
    for (let i = 0; i < 5; i++) expect(clvOf(cache.peek('C1'))).toBe(100);
    expect(clvOf(await cache.get('C1'))).toBe(100); // get does not wait for the refresh either
    expect(n.stale).toBe(6);
    expect(store.calls).toEqual(['C1', 'C1']);
    store.mode = 'ok';
    store.release();
    await sleep(1);
    // the refreshed entry is fresh: a hit, no further look-up
    expect(clvOf(cache.peek('C1'))).toBe(150);
    expect(n.hit).toBe(1);
    expect(store.calls).toEqual(['C1', 'C1']);
  });

  it('keeps serving the stale entry while the store is down', async () => {
    const { store, cache } = await setup({ max: 100, ttlMs: 30 });
    await cache.get('C1');
    await sleep(45);
    store.mode = 'fail';
    expect(clvOf(cache.peek('C1'))).toBe(100);
    await sleep(5);
    expect(store.calls.length).toBe(2); // the refresh ran and failed
    expect(clvOf(await cache.get('C1'))).toBe(100);
    expect(clvOf(cache.peek('C1'))).toBe(100);
    store.mode = 'ok';
    await store.memory.put(profile('C1', 160));
    cache.peek('C1');
    await expect.poll(() => clvOf(cache.peek('C1'))).toBe(160);
  });

  it('lets a failed look-up of an uncached customer fail, without caching the failure', async () => {
    const { store, cache } = await setup();
    store.mode = 'fail';
    const before = store.calls.length;
    await expect(cache.get('C1')).rejects.toThrow('store down');
    expect(store.calls.length - before).toBe(1); // asked once: a failing store gets no second call
    store.mode = 'ok';
    expect(clvOf(await cache.get('C1'))).toBe(100);
  });

  it('does not let a look-up in flight undo an invalidation that arrived meanwhile', async () => {
    const { store, cache } = await setup();
    store.mode = 'hold';
    const pending = cache.get('C1'); // reads clv 100, answers later
    await expect.poll(() => store.waiting).toBe(1);
    await store.memory.put(profile('C1', 120)); // written on another node
    cache.invalidate(['C1']);
    store.mode = 'ok';
    store.release();
    expect(clvOf(await pending)).toBe(120);
    expect(clvOf(cache.peek('C1'))).not.toBe(100);
    expect(clvOf(await cache.get('C1'))).toBe(120);
  });

  it('does not let a refresh in flight undo an invalidation that arrived meanwhile', async () => {
    const { store, cache } = await setup({ max: 100, ttlMs: 30 });
    await cache.get('C1');
    await sleep(45);
    store.mode = 'hold';
    cache.peek('C1'); // the refresh reads clv 100
    await expect.poll(() => store.waiting).toBe(1);
    await store.memory.put(profile('C1', 130));
    expect(cache.invalidate(['C1'])).toBe(1);
    store.mode = 'ok';
    store.release();
    await sleep(5);
    expect(cache.peek('C1')).toBeUndefined();
    expect(clvOf(await cache.get('C1'))).toBe(130);
  });

  it('revalidateAll() refreshes every entry on next use while still serving it', async () => {
    const { store, n, cache } = await setup();
    await cache.get('C1');
    await cache.get('C2');
    await store.memory.putMany([profile('C1', 190), profile('C2', 290)]);
    expect(clvOf(await cache.get('C1'))).toBe(100);
    cache.revalidateAll();
    expect(clvOf(cache.peek('C1'))).toBe(100);
    expect(clvOf(cache.peek('C2'))).toBe(200);
    expect(n.stale).toBe(2);
    await expect.poll(() => [clvOf(cache.peek('C1')), clvOf(cache.peek('C2'))]).toEqual([190, 290]);
    expect(store.calls).toEqual(['C1', 'C2', 'C1', 'C2']);
  });

  it('evicts the least recently used entry beyond max', async () => {
    const { store, cache } = await setup({ max: 2, ttlMs: 60_000 });
    await cache.get('C1');
    await cache.get('C2');
    await cache.get('C1');
    await cache.get('C3');
    expect(cache.peek('C2')).toBeUndefined();
    expect(clvOf(cache.peek('C1'))).toBe(100);
    expect(store.calls).toEqual(['C1', 'C2', 'C3']);
  });

  it('max 0 turns the cache off', async () => {
    const { store, n, cache } = await setup({ max: 0, ttlMs: 60_000 });
    expect(clvOf(await cache.get('C1'))).toBe(100);
    expect(clvOf(await cache.get('C1'))).toBe(100);
    expect(cache.peek('C1')).toBeUndefined();
    expect(cache.invalidate(['C1'])).toBe(0);
    await store.memory.put(profile('C1', 77));
    expect(clvOf(await cache.get('C1'))).toBe(77);
    expect(store.calls).toEqual(['C1', 'C1', 'C1']);
    expect(n).toEqual({ hit: 0, stale: 0, miss: 3 });
  });
});
