import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { type InvalidationTarget, listenForInvalidations } from '../../src/profiles/index.js';
import { connectRedis, type RedisClient, RedisKeys, whenReady } from '../../src/redis/index.js';
import { eventually, RedisServer } from '../support/redis.js';

/** What the cache was told: the IDs dropped, and how many times everything was marked stale. */
function recordingCache(): InvalidationTarget & { dropped: string[]; revalidations: number } {
  const target = {
    dropped: [] as string[],
    revalidations: 0,
    invalidate(ids: Iterable<string>) {
      const list = [...ids];
      target.dropped.push(...list);
      return list.length;
    },
    revalidateAll() {
      target.revalidations++;
    },
  };
  return target;
}

const subscribedGauge = async (metrics: Metrics) =>
  (await metrics.registry.getSingleMetricAsString('nextbest_profile_invalidations_subscribed')).split('\n').at(-1);

// The subscriber connection against a real redis-server: listened to at the worst moment, and across a restart.
describe('profile invalidations', () => {
  let redis: RedisServer;
  let publisher: RedisClient;
  const keys = new RedisKeys('inv:');
  const clients: RedisClient[] = [];
  const subscriberOf = () => {
    const c = connectRedis({ url: redis.url }, { name: 'subscribe', offlineQueue: true });
    clients.push(c);
    return c;
  };
  /** Publishes `id` until the cache has heard of it. */
  const heard = (cache: { dropped: string[] }, id: string, ms = 5_000) =>
    eventually(
      `the subscriber hears of ${id}`,
      async () => {
        await publisher.publish(keys.invalidations, id);
        return cache.dropped.includes(id);
      },
      ms,
    );

  beforeAll(async () => {
    redis = await RedisServer.start();
    publisher = redis.client();
  });
  afterAll(async () => {
    for (const c of [publisher, ...clients]) c?.disconnect();
    await redis?.stop();
  });

  it('hears of writes when listening starts while the connection is still in its handshake', async () => {
    const subscriber = subscriberOf();
    // 'connect': the socket is open and the handshake (name, client info, ready check) has begun
    await new Promise((resolve) => subscriber.once('connect', resolve));
    expect(subscriber.status).toBe('connect');
    const cache = recordingCache();
    const metrics = new Metrics({ defaultMetrics: false });
    listenForInvalidations(subscriber, keys, cache, metrics, pino({ level: 'silent' }));
    // what it hears from the moment the connection is ready, handshake over
    expect(await whenReady(subscriber, 5_000)).toBe(true);
    cache.dropped.length = 0;
    await heard(cache, 'C-1');
    expect(await subscribedGauge(metrics)).toMatch(/ 1$/);
    // the first connection is not a reconnect: nothing was missed
    expect(cache.revalidations).toBe(0);
  });

  it('subscribes again after Redis restarts, marks the cache stale, and says so meanwhile', async () => {
    const subscriber = subscriberOf();
    const cache = recordingCache();
    const metrics = new Metrics({ defaultMetrics: false });
    listenForInvalidations(subscriber, keys, cache, metrics, pino({ level: 'silent' }));
    await heard(cache, 'C-2');
    await redis.kill();
    await eventually('the subscriber notices', () => subscriber.status !== 'ready', 5_000);
    expect(await subscribedGauge(metrics)).toMatch(/ 0$/);
    await redis.restart();
    publisher.disconnect();
    publisher = redis.client();
    await heard(cache, 'C-3', 10_000);
    expect(cache.revalidations).toBe(1);
    expect(await subscribedGauge(metrics)).toMatch(/ 1$/);
    expect(await metrics.registry.getSingleMetricAsString('nextbest_profile_cache_invalidations_total')).toMatch(
      /source="reconnect"\} 1$/m,
    );
  });
});
