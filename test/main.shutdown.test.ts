import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, postImpression, startService } from './support/process.js';
import { testPrefix, testRedis } from './support/redis.js';

const json = { 'content-type': 'application/json' };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// SIGTERM to the service process while 16 clients keep it busy with decisions and response events
describe('graceful shutdown under load', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  beforeAll(async () => {
    redis = await testRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('turns /readyz to 503 at once, answers what it took in, loses no event and exits 0 within 10 s', async () => {
    const prefix = testPrefix('shutdown');
    const { child, base, output } = await startService({
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      SHUTDOWN_DELAY_MS: '1000',
      WORKERS: '1',
    });
    const statuses = new Map<number, number>();
    let accepted = 0;
    let afterSignal = 0;
    let signalledAt = 0;
    let stop = false;
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const customerId = `SD-${n}-${i % 50}`;
        try {
          const decision = await fetch(`${base}/v1/decisions`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ customerId, channel: 'web' }),
          });
          statuses.set(decision.status, (statuses.get(decision.status) ?? 0) + 1);
          const d = await decision.json();
          if (signalledAt > 0) afterSignal++;
          const offer = d.offers?.[0];
          if (!offer) continue;
          const res = await postImpression(base, customerId, d, offer.offerId);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 202) accepted += (await res.json()).accepted;
        } catch {
          // refused once the service stops accepting: expected after the signal, never before
          if (signalledAt === 0) throw new Error('a request failed before the signal');
          await pause(20);
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, n) => client(n));
    await pause(1_500);
    signalledAt = Date.now();
    child.kill('SIGTERM');
    // at once: by the time the process has taken the signal, within a few event-loop turns
    let ready = await fetch(`${base}/readyz`);
    while (ready.status === 200 && Date.now() - signalledAt < 500) ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('connection')).toBe('close');
    const code = await exited(child);
    const took = Date.now() - signalledAt;
    stop = true;
    await Promise.all(clients);

    expect(code, output()).toBe(0);
    expect(took).toBeLessThan(10_000);
    // only successes: nothing in flight was cut off with an error status
    expect([...statuses.keys()].sort()).toEqual([200, 202]);
    expect(statuses.get(200)).toBeGreaterThan(100);
    // the service kept answering while the balancer was told to drain (SHUTDOWN_DELAY_MS)
    expect(afterSignal).toBeGreaterThan(0);
    // every event it accepted is in Redis
    const r = redis.client();
    let stored = 0;
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*:events`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) stored += await r.xlen(k);
    } while (cursor !== '0');
    r.disconnect();
    expect(accepted).toBeGreaterThan(50);
    expect(stored).toBe(accepted);
    expect(output()).toMatch(/SIGTERM: draining/);
  });
});
