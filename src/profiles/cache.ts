import { LRUCache } from 'lru-cache';
import type { Profile } from './schema.js';
import type { ProfileStore } from './store.js';

export interface CacheStats {
  hit(): void;
  miss(): void;
}

const ABSENT = Symbol('absent');
type Entry = Profile | typeof ABSENT;

/**
 * An LRU cache in front of a store. Unknown customers are cached too (briefly), so a
 * caller hammering a missing ID does not reach the store each time. Writes go through.
 */
export class CachedProfileStore implements ProfileStore {
  readonly kind: string;
  private readonly cache: LRUCache<string, Entry> | undefined;

  constructor(
    private readonly store: ProfileStore,
    options: { max: number; ttlMs: number },
    private readonly stats: CacheStats = { hit() {}, miss() {} },
  ) {
    this.kind = store.kind;
    this.cache = options.max > 0 ? new LRUCache<string, Entry>({ max: options.max, ttl: options.ttlMs || undefined }) : undefined;
  }

  peek(customerId: string): Profile | null | undefined {
    const cached = this.cache?.get(customerId);
    if (cached === undefined) return undefined;
    this.stats.hit();
    return cached === ABSENT ? null : cached;
  }

  async get(customerId: string): Promise<Profile | undefined> {
    const cached = this.cache?.get(customerId);
    if (cached !== undefined) {
      this.stats.hit();
      return cached === ABSENT ? undefined : cached;
    }
    this.stats.miss();
    const profile = await this.store.get(customerId);
    this.cache?.set(customerId, profile ?? ABSENT);
    return profile;
  }

  async put(profile: Profile): Promise<void> {
    await this.store.put(profile);
    this.cache?.delete(profile.customerId);
  }

  async putMany(profiles: readonly Profile[]): Promise<void> {
    await this.store.putMany(profiles);
    for (const p of profiles) this.cache?.delete(p.customerId);
  }

  size(): Promise<number> {
    return this.store.size();
  }
}
