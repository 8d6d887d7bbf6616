import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { Metrics } from '../../src/ops/metrics.js';
import { RedisProfileStore } from '../../src/profiles/redis.js';
import type { Profile } from '../../src/profiles/schema.js';
import {
  connectRedis,
  type RedisClient,
  RedisHealth,
  RedisKeys,
  type RedisTarget,
  whenReady,
} from '../../src/redis/index.js';
import { RedisCluster, RedisServer, testPrefix } from '../support/redis.js';

const log = pino({ level: 'silent' });

/** A store on its own connections (generous deadlines: these tests are about what comes back, not when). */
async function redisStore(target: RedisTarget, prefix: string) {
  const metrics = new Metrics({ defaultMetrics: false });
  const clients: RedisClient[] = [];
  const lane = (name: 'read' | 'write') => {
    const client = connectRedis(target, { name: `test-${name}`, commandTimeout: 5_000 });
    clients.push(client);
    return { client, health: new RedisHealth(client, name, 5_000, metrics, log) };
  };
  const store = new RedisProfileStore(lane('read'), lane('write'), new RedisKeys(prefix), metrics);
  for (const c of clients) expect(await whenReady(c, 5_000)).toBe(true);
  return {
    store,
    invalid: () => metrics.redisErrors.slot('read', 'invalid_data').n,
    close: () => {
      for (const c of clients) c.disconnect();
    },
  };
}

/** Every batch, checked to be no larger than batchSize. */
async function scanAll(store: RedisProfileStore, batchSize: number): Promise<Profile[]> {
  const all: Profile[] = [];
  for await (const batch of store.scan(batchSize)) {
    expect(batch.length).toBeGreaterThan(0);
    expect(batch.length).toBeLessThanOrEqual(batchSize);
    all.push(...batch);
  }
  return all;
}

const ids = (profiles: readonly Profile[]) => profiles.map((p) => p.customerId).sort();

describe('scanning the Redis profile store', () => {
  // a server of its own: the store without a prefix sees every `{…}:profile` key in it
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const [name, prefix] of [
    ['without a key prefix', ''],
    ['with a key prefix', testPrefix('scan')],
  ] as const)
    it(`yields each of 2,500 profiles once in batches of at most 500, ${name}, skipping invalid ones`, async () => {
      const { store, invalid, close } = await redisStore({ url: server.url }, prefix);
      const r = server.client();
      try {
        const profiles = generateProfiles({ customers: 2_500, seed: 11 });
        await store.putMany(profiles);
        // beside them: the customers' other keys, another prefix's profile, and two invalid profiles
        await r.hset(`${prefix}{C0000001}:contacts`, 'v', 1);
        await r.set(`other:${prefix}{C0000002}:profile`, JSON.stringify(profiles[1]));
        await r.set(`${prefix}{X-1}:profile`, '{"customerId":"X-1","valueSegment":"gold"}');
        await r.set(`${prefix}{X-2}:profile`, JSON.stringify(profiles[2])); // another customer's
        const before = invalid();
        const scanned = await scanAll(store, 500);
        expect(scanned).toHaveLength(2_500);
        expect(ids(scanned)).toEqual(ids(profiles));
        expect(invalid() - before).toBe(2);
        expect(Object.isFrozen(scanned[0])).toBe(true);
      } finally {
        r.disconnect();
        close();
      }
    });

  it('escapes glob characters of a prefix', () => {
    expect(new RedisKeys('a*b?[c]\\:').profilePattern).toBe('a\\*b\\?\\[c\\]\\\\:{*}:profile');
    expect(new RedisKeys('nb:').profileCustomerId('nb:{C1}:profile')).toBe('C1');
    expect(new RedisKeys('nb:').profileCustomerId('nb:{C1}:contacts')).toBeUndefined();
  });
});

describe('scanning the Redis profile store on a Cluster', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('visits every master: each of 2,500 profiles once, in batches of at most 500', async () => {
    const target = { url: 'redis://127.0.0.1:1', clusterNodes: cluster.seeds.split(',') };
    const { store, invalid, close } = await redisStore(target, 'nb:');
    try {
      const profiles = generateProfiles({ customers: 2_500, seed: 12 });
      await store.putMany(profiles);
      for (const n of cluster.nodes) {
        const c = n.client();
        expect(await c.dbsize()).toBeGreaterThan(500); // spread over every master
        c.disconnect();
      }
      // written on the master that owns its slot
      const owner = (await cluster.nodeFor('nb:{X-1}:profile')).client();
      await owner.set('nb:{X-1}:profile', 'not JSON');
      owner.disconnect();
      const before = invalid();
      const scanned = await scanAll(store, 500);
      expect(scanned).toHaveLength(2_500);
      expect(ids(scanned)).toEqual(ids(profiles));
      expect(invalid() - before).toBe(1);
    } finally {
      close();
    }
  });
});
