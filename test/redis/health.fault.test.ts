import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, run, startService } from '../support/process.js';
import { eventually, RedisServer } from '../support/redis.js';

interface Sample {
  readonly phase: 'before' | 'outage' | 'after';
  readonly warm: boolean;
  readonly status: number;
  readonly ms: number;
  readonly found: boolean;
  readonly degraded: boolean;
  readonly at: number;
}

const CONNECTIONS = 16;
const id = (n: number) => `C${String(n).padStart(7, '0')}`;
const WARM = Array.from({ length: 200 }, (_, i) => id(i + 1)); // decided before the outage: cached
const COLD = Array.from({ length: 1000 }, (_, i) => id(i + 1001)); // first asked for during it
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

// The service as deployed (its own process, real sockets) while its Redis is killed and restarted.
describe('Redis killed mid-traffic', () => {
  let redis: RedisServer;
  let service: Awaited<ReturnType<typeof startService>>;
  const file = join(tmpdir(), `nextbest-fault-${process.pid}.ndjson`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    expect((await run(['bin/nextbest.js', 'demo-data', '--customers', '2000', '--out', file])).code).toBe(0);
    const imported = await run(['bin/nextbest.js', 'profiles', 'import', file, '--redis', redis.url]);
    expect(imported.stdout).toMatch(/imported 2,000 profiles/);
    await redis.save(); // the restarted server comes back with the data
    // 50 ms rather than the default 15: this test is about Redis dying, where calls fail at once;
    // the load generator shares the two cores with the service, so a tight deadline would measure
    // this machine's scheduling (the default deadline is held in outage.test.ts)
    service = await startService({
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      PROFILE_CACHE_TTL_MS: '1000',
      REDIS_DEADLINE_MS: '50',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    service?.child.kill('SIGTERM');
    if (service) await exited(service.child);
    await redis?.stop();
    await rm(file, { force: true });
  });

  it('answers every request, fast, personalised from cache where it can; recovers by itself', async () => {
    const decide = async (customerId: string) => {
      const started = performance.now();
      const res = await fetch(`${service.base}/v1/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId, channel: 'web' }),
      });
      const body = res.status === 200 ? await res.json() : await res.text();
      return {
        status: res.status,
        ms: performance.now() - started,
        found: body.profile?.found === true,
        degraded: body.degraded === true,
      };
    };
    // warming the cache is set-up: on a loaded machine a first read may miss its deadline
    for (const c of WARM) await eventually(`${c} is cached`, async () => (await decide(c)).found, 5_000);

    const samples: Sample[] = [];
    let phase: Sample['phase'] = 'before';
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const warm = phase === 'before' || Math.random() < 0.5;
        const r = await decide(pick(warm ? WARM : COLD));
        samples.push({ ...r, phase, warm, at: performance.now() });
      }
    };
    const loops = Array.from({ length: CONNECTIONS }, loop);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(1_500);
    phase = 'outage';
    await redis.kill();
    await sleep(3_000);
    await redis.restart();
    const restartedAt = performance.now();
    phase = 'after';
    let recoveredAt: number | undefined;
    while (performance.now() - restartedAt < 15_000) {
      await sleep(100);
      recoveredAt = samples.find(
        (s) => s.phase === 'after' && !s.warm && s.found && !s.degraded && s.at > restartedAt,
      )?.at;
      if (recoveredAt) break;
    }
    await sleep(2_000);
    stop = true;
    await Promise.all(loops);

    const of = (p: Sample['phase']) => samples.filter((s) => s.phase === p);
    const outage = of('outage');
    const ms = outage.map((s) => s.ms);
    const figures = {
      requests: samples.length,
      outageRequests: outage.length,
      outageP50Ms: +quantile(ms, 0.5).toFixed(2),
      outageP99Ms: +quantile(ms, 0.99).toFixed(2),
      outageMaxMs: +Math.max(...ms).toFixed(2),
      recoveryMs: recoveredAt === undefined ? null : Math.round(recoveredAt - restartedAt),
      degradedAfterRecovery: of('after').filter(
        (s) => recoveredAt !== undefined && s.at > recoveredAt + 1_000 && s.degraded,
      ).length,
    };
    console.log(`Redis outage figures: ${JSON.stringify(figures)}`);

    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    expect(outage.length).toBeGreaterThan(100);
    expect(figures.outageP99Ms).toBeLessThan(250);
    expect(outage.filter((s) => s.warm && !s.found)).toEqual([]); // cached: still personalised
    const cold = outage.filter((s) => !s.warm);
    expect(cold.length).toBeGreaterThan(0);
    expect(cold.filter((s) => !s.degraded || s.found)).toEqual([]); // uncached: fallback, marked degraded
    expect(figures.recoveryMs).not.toBeNull();
    expect(figures.recoveryMs!).toBeLessThan(10_000);
    // recovered: personalised again, bar the odd read that misses its 15 ms deadline on these two busy cores
    const settled = of('after').filter((s) => s.at > recoveredAt! + 1_000);
    expect(settled.length).toBeGreaterThan(100);
    expect(settled.filter((s) => s.warm && !s.found)).toEqual([]);
    expect(settled.filter((s) => s.degraded || !s.found).length / settled.length).toBeLessThan(0.01);
  });
});
