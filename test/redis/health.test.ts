import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { connectRedis, type RedisClient, RedisHealth, whenReady } from '../../src/redis/index.js';
import { testRedis } from '../support/redis.js';

// The circuit breaker of one path, on a real connection: what the writers that check available() first rely on.
describe('the Redis circuit breaker', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let client: RedisClient;
  beforeAll(async () => {
    redis = await testRedis();
    client = connectRedis({ url: redis.url }, { name: 'test-health', commandTimeout: 500 });
    expect(await whenReady(client, 2_000)).toBe(true);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('opens on failures, and says a call may be tried once its wait is over, so a writer that checks first closes it again', async () => {
    const health = new RedisHealth(
      client,
      'write',
      500,
      new Metrics({ defaultMetrics: false }),
      pino({ level: 'silent' }),
    );
    // half of the calls of the last 5 s failing, at 5 calls a second or more
    for (let i = 0; i < 40; i++)
      await health.call('test', () => Promise.reject(new Error('boom'))).catch(() => undefined);
    expect(health.status().circuit).toBe('open');
    expect(health.available()).toBe(false);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(health.status().circuit).toBe('open');
    expect(health.available()).toBe(true); // the trial call is due
    expect(await health.call('test', () => client.ping())).toBe('PONG');
    expect(health.status().circuit).toBe('closed');
    expect(health.available()).toBe(true);
  });
});
