import { LRUCache } from 'lru-cache';
import type { Profile } from './schema.js';
import type { ProfileStore } from './store.js';

export interface CacheStats {
  hit(): void;
  stale(): void;
  miss(): void;
}

/** A cached look-up: the profile, or null for a known absence, and when the read started. */
interface Entry {
  readonly profile: Profile | null;
  readonly at: number;
}

const ignore = () => {};
const REFRESH = { forceRefresh: true } as const;

/**
 * An LRU cache in front of a store, with stale-while-revalidate: an entry older than the TTL
 * is still answered at once while one background look-up refreshes it, and it stays when that
 * look-up fails, so a cached customer is served while the store is down. Unknown customers
 * are cached too, so a caller hammering a missing ID does not reach the store each time.
 * Writes through this cache drop the entry at once; writes on other nodes arrive through
 * invalidate(); revalidateAll() marks everything stale when invalidations may have been missed.
 */
export class CachedProfileStore implements ProfileStore {
  readonly kind: string;
  private readonly cache: LRUCache<string, Entry> | undefined;
  private readonly ttlMs: number;
  /** entries read before this instant are stale whatever their age */
  private epoch = -Infinity;

  constructor(
    private readonly store: ProfileStore,
    options: { max: number; ttlMs: number },
    private readonly stats: CacheStats = { hit: ignore, stale: ignore, miss: ignore },
  ) {
    this.kind = store.kind;
    this.ttlMs = options.ttlMs > 0 ? options.ttlMs : Infinity;
    this.cache =
      options.max > 0
        ? new LRUCache<string, Entry>({
            max: options.max,
            // a failed refresh keeps the entry it was refreshing; a failed first look-up throws
            noDeleteOnFetchRejection: true,
            allowStaleOnFetchAbort: true,
            fetchMethod: async (customerId) => {
              const at = performance.now();
              return { profile: (await store.get(customerId)) ?? null, at };
            },
          })
        : undefined;
  }

  peek(customerId: string): Profile | null | undefined {
    const entry = this.cache?.get(customerId);
    if (entry === undefined) return undefined;
    if (entry.at <= this.epoch || performance.now() - entry.at > this.ttlMs) {
      this.stats.stale();
      // one refresh in flight per key (lru-cache shares it); a failure keeps this entry
      this.cache!.fetch(customerId, REFRESH).catch(ignore);
    } else {
      this.stats.hit();
    }
    return entry.profile;
  }

  async get(customerId: string): Promise<Profile | undefined> {
    if (!this.cache) {
      this.stats.miss();
      return this.store.get(customerId);
    }
    const peeked = this.peek(customerId);
    if (peeked !== undefined) return peeked ?? undefined;
    this.stats.miss();
    const entry = await this.cache.fetch(customerId);
    // undefined: the entry was invalidated while it was being looked up; ask again, uncached
    if (entry === undefined) return this.store.get(customerId);
    return entry.profile ?? undefined;
  }

  async put(profile: Profile): Promise<void> {
    await this.store.put(profile);
    this.cache?.delete(profile.customerId);
  }

  async putMany(profiles: readonly Profile[]): Promise<void> {
    await this.store.putMany(profiles);
    for (const p of profiles) this.cache?.delete(p.customerId);
  }

  /** Drops entries written elsewhere; a look-up in flight for them is abandoned, not stored. */
  invalidate(customerIds: Iterable<string>): number {
    let dropped = 0;
    if (this.cache) for (const id of customerIds) if (this.cache.delete(id)) dropped++;
    return dropped;
  }

  /** Every entry is refreshed on its next use, and still served until the fresh copy arrives. */
  revalidateAll(): void {
    this.epoch = performance.now();
  }

  size(): Promise<number | undefined> {
    return this.store.size();
  }

  /** Straight from the store: a run over every customer would only flush the cache. */
  scan(batchSize: number): AsyncIterable<readonly Profile[]> {
    return this.store.scan(batchSize);
  }
}
