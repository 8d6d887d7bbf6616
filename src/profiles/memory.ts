import type { Profile } from './schema.js';
import { checkBatchSize, type ProfileStore } from './store.js';

/**
 * The embedded default: every profile in one Map, for a single node. It answers decisions
 * synchronously (peek), so it needs no cache in front: a cache would hold the same objects twice.
 */
export class MemoryProfileStore implements ProfileStore {
  readonly kind = 'memory';
  private readonly profiles = new Map<string, Profile>();

  async get(customerId: string): Promise<Profile | undefined> {
    return this.profiles.get(customerId);
  }

  peek(customerId: string): Profile | null {
    return this.profiles.get(customerId) ?? null;
  }

  async put(profile: Profile): Promise<void> {
    this.profiles.set(profile.customerId, Object.freeze(profile));
  }

  async putMany(profiles: readonly Profile[]): Promise<void> {
    for (const p of profiles) this.profiles.set(p.customerId, Object.freeze(p));
  }

  async size(): Promise<number> {
    return this.profiles.size;
  }

  /** In insertion order (a profile written again keeps its place). */
  async *scan(batchSize: number): AsyncGenerator<readonly Profile[]> {
    checkBatchSize(batchSize);
    let batch: Profile[] = [];
    for (const p of this.profiles.values()) {
      batch.push(p);
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
}
