import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';
import { eventually, RedisServer } from '../support/redis.js';

type Node = Awaited<ReturnType<typeof testApp>>;
const profile = (id: string) => ({
  customerId: id,
  valueSegment: 'super',
  lifecyclePhase: 'loyalty',
  clv: 9000,
  churnScore: 0.1,
  consents: ['web'],
});
const event = (n: number) => ({
  customerId: 'O-w1',
  offerId: 'service-app-download',
  outcome: 'impression',
  channel: 'web',
  eventId: `o-ev-${n}`,
});

// Redis hanging (SIGSTOP) and gone (SIGKILL) under an in-process node: deadlines, cache, fallbacks, buffer.
describe('when Redis hangs or dies', () => {
  let redis: RedisServer;
  let node: Node;
  const decide = async (customerId: string) => {
    const started = performance.now();
    const res = await node.post('/v1/decisions', { customerId, channel: 'web' });
    return { status: res.status, ms: performance.now() - started, body: await res.json() };
  };
  const ready = async () => (await node.app.request('/readyz')).json();

  beforeAll(async () => {
    redis = await RedisServer.start();
    node = await testApp({
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_DEADLINE_MS: '15',
      PROFILE_CACHE_TTL_MS: '200',
      RESPONSE_BUFFER_SIZE: '3',
    });
    const body = ['O-w1', 'O-w2', 'O-c1', 'O-c2', 'O-c3'].map((id) => JSON.stringify(profile(id))).join('\n');
    await node.app.request('/v1/profiles/bulk', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    await redis.save();
    for (const id of ['O-w1', 'O-w2']) expect((await decide(id)).body.profile.found).toBe(true);
  });
  afterAll(async () => {
    await node?.services.close();
    await redis?.stop();
  });

  it('a hung Redis costs a decision its deadline, not a hang: cached customers personalised, others get fallbacks', async () => {
    redis.pause();
    try {
      const cold = await decide('O-c1');
      expect(cold.status).toBe(200);
      expect(cold.body).toMatchObject({ degraded: true, profile: { found: false } });
      expect(cold.body.offers.length).toBeGreaterThan(0);
      expect(cold.ms).toBeLessThan(250);
      await new Promise((r) => setTimeout(r, 250)); // past the cache TTL: the stale copy is served while refreshes fail
      for (let i = 0; i < 20; i++) {
        const warm = await decide(i % 2 ? 'O-w1' : 'O-w2');
        // personalised from the cached profile; degraded, because the contact history could not be read
        expect(warm.body).toMatchObject({ degraded: true, profile: { found: true, valueSegment: 'super' } });
        expect(warm.body.offers.length).toBeGreaterThan(0);
        expect(warm.ms).toBeLessThan(250);
      }
      // repeated failures open the circuit: calls then fail at once, and readiness says why
      for (let i = 0; i < 30; i++) await decide(`O-miss-${i}`);
      expect(await ready()).toMatchObject({
        status: 'ready',
        degraded: true,
        redis: { read: { circuit: 'open', up: false } },
      });
      const fast = await decide('O-c2');
      expect(fast.body.degraded).toBe(true);
      const text = await (await node.app.request('/metrics')).text();
      expect(text).toMatch(/^nextbest_redis_errors_total\{path="read",kind="timeout"\} [1-9]/m);
      expect(text).toMatch(/^nextbest_redis_errors_total\{path="read",kind="circuit_open"\} [1-9]/m);
      expect(text).toMatch(/^nextbest_redis_up\{path="read"\} 0$/m);
    } finally {
      redis.resume();
    }
    const ms = await eventually(
      'uncached customers are personalised again',
      async () => (await decide('O-c3')).body.degraded === false,
      10_000,
    );
    expect((await decide('O-c3')).body.profile.found).toBe(true);
    expect(ms).toBeLessThan(10_000);
  });

  it('a profile write while Redis is gone is refused with 503 and Retry-After', async () => {
    await redis.kill();
    try {
      const res = await node.app.request('/v1/profiles/O-new', {
        method: 'PUT',
        body: JSON.stringify(profile('O-new')),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ type: 'urn:nextbest:problem:unavailable', status: 503 });
    } finally {
      await redis.restart();
    }
  });

  it('response events wait in the bounded buffer while Redis is gone, then are written in order; beyond it, 503', async () => {
    await redis.save();
    await redis.kill();
    const first = await node.post('/v1/responses', { events: [event(1), event(2)] });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 0, buffered: 2 });
    const refused = await node.post('/v1/responses', { events: [event(3), event(4)] });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect((await node.post('/v1/responses', event(3))).status).toBe(202); // fits: the buffer holds 3
    expect(node.services.responses.buffered).toBe(3);
    await redis.restart();
    await eventually('the buffer is written', () => node.services.responses.buffered === 0, 10_000);
    const c = redis.client();
    try {
      const stream = await c.xrange('nb:{O-w1}:events', '-', '+');
      expect(stream.map(([, f]) => f[f.indexOf('eventId') + 1])).toEqual(['o-ev-1', 'o-ev-2', 'o-ev-3']);
    } finally {
      c.disconnect();
    }
    // the refused events were never taken: sent again, they count as new
    expect(await (await node.post('/v1/responses', { events: [event(4), event(1)] })).json()).toEqual({
      accepted: 1,
      duplicates: 1,
      buffered: 0,
    });
  });

  it('shutdown writes the buffer out when Redis returns during it, rather than giving up at once', async () => {
    const other = await testApp({ PROFILE_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'close:' });
    await redis.kill();
    expect(await (await other.post('/v1/responses', event(9))).json()).toMatchObject({ buffered: 1 });
    await redis.restart();
    // the client is still between reconnect attempts when close() starts
    expect(await other.services.close()).toBe(true);
    const c = redis.client();
    try {
      expect(await c.xlen('close:{O-w1}:events')).toBe(1);
    } finally {
      c.disconnect();
    }
  });
});
