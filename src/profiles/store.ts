import type { Profile } from './schema.js';

/** Where profiles live. The memory store is the embedded default; Redis shares them between nodes. */
export interface ProfileStore {
  readonly kind: string;
  get(customerId: string): Promise<Profile | undefined>;
  /** Synchronous answer when it is at hand: the profile, null when known absent, undefined when it needs get(). */
  peek?(customerId: string): Profile | null | undefined;
  put(profile: Profile): Promise<void>;
  putMany(profiles: readonly Profile[]): Promise<void>;
  /** How many profiles the store holds, when it can tell cheaply (Redis cannot). */
  size(): Promise<number | undefined>;
  /**
   * Every profile, in batches of at most `batchSize` (a whole number ≥ 1), for a run over all
   * customers. Profiles written or deleted during the scan may or may not come; Redis may give
   * one twice when its keyspace shrinks meanwhile (SCAN's guarantee). Invalid stored profiles
   * are skipped (and counted), not thrown.
   */
  scan(batchSize: number): AsyncIterable<readonly Profile[]>;
}

/** Refuses a batch size scan cannot honour (0 would never finish a SCAN). */
export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a whole number of at least 1, not ${batchSize}`);
}
