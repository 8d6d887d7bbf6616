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
}
