import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';
import { testPrefix, testRedis } from '../support/redis.js';

type Node = Awaited<ReturnType<typeof testApp>>;
const KEY = 'decide-key-shared-rate-0123';
const as = { authorization: `Bearer ${KEY}` };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// PROFILE_STORE=redis: two nodes count one key's requests together
describe('rate limits shared through Redis', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let a: Node;
  let b: Node;
  const prefix = testPrefix('rate');

  beforeAll(async () => {
    redis = await testRedis();
    const env = {
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      API_KEYS: `decide:${KEY}`,
      RATE_LIMITS: 'decide:10',
    };
    a = await testApp(env);
    b = await testApp(env);
  });
  afterAll(async () => {
    await a?.services.close();
    await b?.services.close();
    await redis?.stop();
  });

  it('a key’s requests on one node count on the other', async () => {
    // the minute must not turn during the test
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await pause(60_000 - intoMinute + 100);
    const decide = (n: Node) => n.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, as);
    for (let i = 0; i < 6; i++) expect((await decide(a)).status).toBe(200);
    await pause(300); // a has sent its six
    expect((await decide(b)).status).toBe(200);
    await pause(300); // b has sent its one and read the total: 7
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await decide(b)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    await pause(300);
    // and a, which has not sent since, learns the total on its next request's sync
    const first = await decide(a);
    expect(first.status).toBe(429);
  });
});
