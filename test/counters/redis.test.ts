import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounters } from '../../src/counters/redis.js';
import { Metrics } from '../../src/ops/metrics.js';
import { connectRedis, type RedisClient, RedisHealth, whenReady } from '../../src/redis/index.js';
import { RedisServer } from '../support/redis.js';

// Shared counters against a real redis-server: a batch whose reply is lost is added once.
describe('Redis counters', () => {
  let redis: RedisServer;
  let client: RedisClient;
  beforeAll(async () => {
    redis = await RedisServer.start();
    client = connectRedis({ url: redis.url }, { name: 'test-counters', commandTimeout: 200 });
    expect(await whenReady(client, 2_000)).toBe(true);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('adds a batch exactly once when its write timed out after all and is tried again', async () => {
    const lane = {
      client,
      health: new RedisHealth(client, 'write', 200, new Metrics({ defaultMetrics: false }), pino({ level: 'silent' })),
    };
    const counters = new RedisCounters(lane, 'c:{kpis}', pino({ level: 'silent' }));
    counters.add('a', 5);
    counters.add('b');
    const admin = redis.client();
    try {
      await admin.client('PAUSE', 600, 'WRITE'); // the script waits past its deadline, then runs
      await counters.flush();
      expect(await admin.hget('c:{kpis}', 'a')).toBeNull();
      await new Promise((r) => setTimeout(r, 800));
      expect(await admin.hget('c:{kpis}', 'a')).toBe('5'); // it ran after all
      counters.add('a', 2);
      await counters.flush(); // the same batch again, found marked, and the new one
      expect(await admin.hgetall('c:{kpis}')).toEqual({ a: '7', b: '1' });
      expect(await counters.totals()).toEqual(
        new Map([
          ['a', 7],
          ['b', 1],
        ]),
      );
    } finally {
      admin.disconnect();
      await counters.close();
    }
  });
});
