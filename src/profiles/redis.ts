import { Cluster } from 'ioredis';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import { Profile } from './schema.js';
import { checkBatchSize, type ProfileStore } from './store.js';

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
    const profile = this.parse(customerId, raw);
    if (typeof profile === 'string')
      throw new ApiError(
        'unavailable',
        `the profile stored for "${customerId}" is invalid (${profile}); write it again`,
      );
    return profile;
  }

  /** The stored profile, or why it is invalid (counted). */
  private parse(customerId: string, raw: string): Profile | string {
    let parsed: ReturnType<typeof Profile.safeParse> | undefined;
    try {
      parsed = Profile.safeParse(JSON.parse(raw));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success || parsed.data.customerId !== customerId) {
      this.metrics.redisErrors.slot('read', 'invalid_data').n++;
      return (
        (parsed?.success === false ? parsed.error.issues[0]?.message : parsed ? 'another customerId' : 'not JSON') ??
        'invalid'
      );
    }
    return Object.freeze(parsed.data);
  }

  /**
   * SCAN over the profile keys of every master (a Cluster's keys are spread over them), then one
   * MGET per batch (GETs per key on a Cluster: a batch spans slots). On the write lane: its
   * deadline suits a batch job, and its failures leave the decisions' read circuit alone.
   */
  async *scan(batchSize: number): AsyncGenerator<readonly Profile[]> {
    checkBatchSize(batchSize);
    const { client, health } = this.write;
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    if (nodes.length === 0) throw health.failure('profile scan', new Error('Connection is closed'));
    let keys: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await health.call('profile scan', () =>
          node.scan(cursor, 'MATCH', this.keys.profilePattern, 'COUNT', batchSize),
        );
        cursor = next;
        keys.push(...found);
        // full batches: SCAN's COUNT is a hint, and the pattern skips the customers' other keys
        while (keys.length >= batchSize) {
          const profiles = await this.readBatch(keys.slice(0, batchSize));
          keys = keys.slice(batchSize);
          if (profiles.length > 0) yield profiles;
        }
      } while (cursor !== '0');
    }
    if (keys.length > 0) {
      const profiles = await this.readBatch(keys);
      if (profiles.length > 0) yield profiles;
    }
  }

  /** The profiles under these keys; keys deleted since the SCAN and invalid profiles are left out. */
  private async readBatch(keys: readonly string[]): Promise<Profile[]> {
    const { client, health } = this.write;
    const raws = await health.call('profile scan', () =>
      client instanceof Cluster ? Promise.all(keys.map((k) => client.get(k))) : client.mget(keys as string[]),
    );
    const profiles: Profile[] = [];
    for (const [i, raw] of raws.entries()) {
      if (raw === null) continue;
      // '' matches no stored customerId: a matched key of another shape counts as invalid
      const profile = this.parse(this.keys.profileCustomerId(keys[i]!) ?? '', raw);
      if (typeof profile === 'object') profiles.push(profile);
    }
    return profiles;
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
