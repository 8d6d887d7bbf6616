import { Cluster } from 'ioredis';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import { Profile } from './schema.js';
import type { ProfileStore } from './store.js';

/** Most customer IDs in one invalidation message. */
const IDS_PER_MESSAGE = 1_000;

/**
 * Profiles as JSON strings under `<prefix>{customerId}:profile`. Reads go through the read
 * lane (the short deadline), writes through the write lane, then announce the written IDs on
 * a pub/sub channel so every node drops its cached copy.
 */
export class RedisProfileStore implements ProfileStore {
  readonly kind = 'redis';

  constructor(
    private readonly read: RedisLane,
    private readonly write: RedisLane,
    private readonly keys: RedisKeys,
    private readonly metrics: Metrics,
  ) {}

  async get(customerId: string): Promise<Profile | undefined> {
    const raw = await this.read.health.call('profile read', () => this.read.client.get(this.keys.profile(customerId)));
    return raw === null ? undefined : this.decode(customerId, raw);
  }

  private decode(customerId: string, raw: string): Profile {
    let parsed: ReturnType<typeof Profile.safeParse> | undefined;
    try {
      parsed = Profile.safeParse(JSON.parse(raw));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success || parsed.data.customerId !== customerId) {
      this.metrics.redisErrors.slot('read', 'invalid_data').n++;
      const why =
        parsed?.success === false ? parsed.error.issues[0]?.message : parsed ? 'another customerId' : 'not JSON';
      throw new ApiError('unavailable', `the profile stored for "${customerId}" is invalid (${why}); write it again`);
    }
    return Object.freeze(parsed.data);
  }

  async put(profile: Profile): Promise<void> {
    await this.write.health.call('profile write', () =>
      this.write.client.set(this.keys.profile(profile.customerId), JSON.stringify(profile)),
    );
    await this.announce([profile.customerId]);
  }

  async putMany(profiles: readonly Profile[]): Promise<void> {
    if (profiles.length === 0) return;
    await this.write.health.call('profile write', () => this.writeAll(profiles));
    await this.announce(profiles.map((p) => p.customerId));
  }

  /** One MSET on a single node; on a Cluster, SETs that auto-pipelining groups per node (keys of many slots). */
  private writeAll(profiles: readonly Profile[]): Promise<unknown> {
    const writer = this.write.client;
    if (writer instanceof Cluster)
      return Promise.all(profiles.map((p) => writer.set(this.keys.profile(p.customerId), JSON.stringify(p))));
    const args: string[] = [];
    for (const p of profiles) args.push(this.keys.profile(p.customerId), JSON.stringify(p));
    return writer.mset(args);
  }

  /** The write is done either way: a lost announcement only leaves other nodes' copies until their TTL. */
  private async announce(customerIds: string[]): Promise<void> {
    const { client, health } = this.write;
    try {
      for (let i = 0; i < customerIds.length; i += IDS_PER_MESSAGE) {
        const message = customerIds.slice(i, i + IDS_PER_MESSAGE).join('\n');
        await health.call('invalidation publish', () => client.publish(this.keys.invalidations, message));
      }
    } catch {
      // counted by the health; nothing to undo
    }
  }

  async size(): Promise<undefined> {
    return undefined;
  }
}
