import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './support/app.js';
import { eventually, testPrefix, testRedis } from './support/redis.js';

type Node = Awaited<ReturnType<typeof testApp>>;
const profile = (id: string, extra: Record<string, unknown> = {}) => ({
  customerId: id,
  valueSegment: 'top',
  lifecyclePhase: 'loyalty',
  clv: 4200,
  churnScore: 0.2,
  tenureDays: 800,
  productsHeld: ['mobile'],
  consents: ['web', 'call-center'],
  ...extra,
});
const json = { 'content-type': 'application/json' };

// PROFILE_STORE=redis against a real redis-server: two in-process nodes sharing it.
describe('the Redis store, shared by two nodes', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let r: Redis;
  let a: Node;
  let b: Node;
  const prefix = testPrefix('store');
  const env = () => ({
    PROFILE_STORE: 'redis',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    DECISION_LOG_MAXLEN: '100',
  });
  const put = (n: Node, id: string, body: unknown) =>
    n.app.request(`/v1/profiles/${id}`, { method: 'PUT', body: JSON.stringify(body), headers: json });
  const decide = async (n: Node, customerId: string, channel = 'web') =>
    (await n.post('/v1/decisions', { customerId, channel })).json();

  beforeAll(async () => {
    redis = await testRedis();
    r = redis.client();
    a = await testApp(env());
    b = await testApp(env());
  });
  afterAll(async () => {
    await a?.services.close();
    await b?.services.close();
    r?.disconnect();
    await redis?.stop();
  });

  it('stores a profile under the customer hash tag; the other node reads it', async () => {
    expect((await put(a, 'R-1', profile('R-1'))).status).toBe(200);
    expect(await r.exists(`${prefix}{R-1}:profile`)).toBe(1);
    const got = await b.app.request('/v1/profiles/R-1');
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({
      customerId: 'R-1',
      valueSegment: 'top',
      tenureDays: 800,
      annualRevenue: 0,
    });
    expect((await decide(b, 'R-1')).profile).toEqual({ found: true, valueSegment: 'top', lifecyclePhase: 'loyalty' });
  });

  it('a write on one node drops the cached copy on the other through pub/sub', async () => {
    await put(a, 'R-2', profile('R-2'));
    expect((await decide(b, 'R-2')).profile.lifecyclePhase).toBe('loyalty'); // b caches it
    expect((await decide(b, 'R-2')).profile.lifecyclePhase).toBe('loyalty'); // from b's cache
    await put(a, 'R-2', profile('R-2', { lifecyclePhase: 'retain', churnScore: 0.8 }));
    const ms = await eventually(
      'node b sees the new phase',
      async () => (await decide(b, 'R-2')).profile.lifecyclePhase === 'retain',
      2_000,
    );
    expect(ms).toBeLessThan(2_000);
    const metrics = await (await b.app.request('/metrics')).text();
    expect(metrics).toMatch(/nextbest_profile_cache_invalidations_total\{source="remote"\} [1-9]/);
    expect(metrics).toMatch(/nextbest_profile_cache_requests_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/nextbest_profile_cache_requests_total\{result="miss"\} [1-9]/);
  });

  it('an unknown customer is cached as absent and found once written elsewhere', async () => {
    expect((await decide(b, 'R-3')).profile.found).toBe(false);
    await put(a, 'R-3', profile('R-3'));
    await eventually('node b finds R-3', async () => (await decide(b, 'R-3')).profile.found === true, 2_000);
  });

  it('bulk NDJSON goes to Redis with line-numbered rejections', async () => {
    const body = [JSON.stringify(profile('R-4')), '{"customerId":"R-5"}', JSON.stringify(profile('R-6'))].join('\n');
    const res = await a.app.request('/v1/profiles/bulk', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(await res.json()).toMatchObject({ imported: 2, rejectedLines: 1, rejected: [{ line: 2 }] });
    expect(await r.exists(`${prefix}{R-4}:profile`, `${prefix}{R-6}:profile`, `${prefix}{R-5}:profile`)).toBe(2);
  });

  it('a corrupt stored profile answers degraded fallback offers, not an error', async () => {
    await r.set(`${prefix}{R-7}:profile`, '{"customerId":"R-7","valueSegment":"gold"}');
    const d = await decide(a, 'R-7');
    expect(d).toMatchObject({ degraded: true, profile: { found: false } });
    expect(d.offers.length).toBeGreaterThan(0);
    const got = await a.app.request('/v1/profiles/R-7');
    expect(got.status).toBe(503);
    expect(await got.text()).not.toMatch(/at .*\.js/);
  });

  it('response events go to the customer stream once per eventId, whichever node made the decision', async () => {
    const d = await decide(a, 'R-1');
    const event = {
      customerId: 'R-1',
      offerId: d.offers[0].offerId,
      outcome: 'impression',
      channel: 'web',
      eventId: 'ev-1',
      decisionId: d.decisionId,
    };
    expect(await (await a.post('/v1/responses', event)).json()).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
    const again = await b.post('/v1/responses', { events: [event, { ...event, eventId: 'ev-2', outcome: 'click' }] });
    expect(await again.json()).toEqual({ accepted: 1, duplicates: 1, buffered: 0 });
    const stream = await r.xrange(`${prefix}{R-1}:events`, '-', '+');
    expect(stream.map(([, f]) => f[f.indexOf('outcome') + 1])).toEqual(['impression', 'click']);
    const seen = await r.zrange(`${prefix}{R-1}:seen`, '0', '-1');
    expect(seen.filter((m) => !m.startsWith('L|'))).toEqual(['ev-1', 'ev-2']);
    // the decision × offer's learning marks, in the same set: a trial (the impression), then a success (the click)
    const mark = `${d.decisionId}|${event.offerId}`;
    expect(seen.filter((m) => m.startsWith('L|')).sort()).toEqual([`L|s|${mark}`, `L|t|${mark}`]);
  });

  it("a customer's dedup marks and history stay bounded however many events arrive", async () => {
    const ev = (i: number) => ({
      customerId: 'R-9',
      offerId: 'service-app-download',
      outcome: 'impression',
      channel: 'web',
      eventId: `b-${i}`,
    });
    for (let from = 0; from < 2_500; from += 500) {
      const batch = Array.from({ length: 500 }, (_, i) => ev(from + i));
      expect((await (await a.post('/v1/responses', { events: batch })).json()).accepted).toBe(500);
    }
    // a batch Redis took longer than the write timeout over waits in the buffer (a loaded machine)
    await eventually('the buffered events are written', () => a.services.responses.buffered === 0, 10_000);
    expect(await r.zcard(`${prefix}{R-9}:seen`)).toBe(2_000);
    const history = await r.xlen(`${prefix}{R-9}:events`);
    expect(history).toBeGreaterThanOrEqual(1_000);
    expect(history).toBeLessThan(1_200); // MAXLEN ~ trims whole stream nodes
    expect(await (await a.post('/v1/responses', ev(2_499))).json()).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('every decision is appended to the capped decision log stream, one record a entry', async () => {
    await put(a, 'R-8', profile('R-8'));
    const d = await decide(a, 'R-8', 'call-center');
    const records = async () =>
      (await r.xrevrange(`${prefix}decisions`, '+', '-', 'COUNT', 50)).map(([, f]) => {
        expect(f[0]).toBe('record');
        return JSON.parse(f[1]!);
      });
    const logged = async () => (await records()).find((e) => e.decisionId === d.decisionId);
    await eventually('the decision is logged', async () => (await logged()) !== undefined, 2_000);
    const entry = (await logged())!;
    expect(entry).toMatchObject({
      decisionId: d.decisionId,
      customerId: 'R-8',
      channel: 'call-center',
      interactionId: null,
      rulesetVersion: d.rulesetVersion,
      arm: d.arm,
      degraded: false,
      preview: false,
      profile: { found: true, valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 4200, churnScore: 0.2 },
    });
    expect(entry.offers).toEqual(
      d.offers.map((o: Record<string, unknown>) => ({
        rank: o.rank,
        offerId: o.offerId,
        group: o.group,
        score: o.score,
        propensity: o.propensity,
      })),
    );
    expect(Date.parse(entry.at!)).toBeGreaterThan(Date.now() - 60_000);
    // an explained decision is a preview, but the log still shows who was shown what
    const explained = await (
      await a.post('/v1/decisions', { customerId: 'R-8', channel: 'web', explain: true })
    ).json();
    await eventually(
      'the explained decision is logged',
      async () => (await records()).some((e) => e.decisionId === explained.decisionId && e.preview === true),
      2_000,
    );
    // the cap is approximate (whole stream nodes of 100 entries are trimmed)
    for (let i = 0; i < 400; i++) await decide(a, `R-x${i}`);
    await eventually(
      'the log is trimmed near its cap',
      async () => {
        const len = await r.xlen(`${prefix}decisions`);
        return len >= 100 && len <= 200;
      },
      3_000,
    );
  });

  it('finds a decision by id from the other node, with the responses either node took', async () => {
    const d = await decide(a, 'R-1', 'call-center');
    const offerId = d.offers[0].offerId;
    expect(
      (
        await b.post('/v1/responses', {
          customerId: 'R-1',
          offerId,
          channel: 'call-center',
          outcome: 'accept',
          decisionId: d.decisionId,
        })
      ).status,
    ).toBe(202);
    const got = await (await b.app.request(`/v1/decisions/${d.decisionId}`)).json();
    expect(got).toMatchObject({ decisionId: d.decisionId, customerId: 'R-1', channel: 'call-center', arm: d.arm });
    expect(got.responses).toEqual([expect.objectContaining({ offerId, outcome: 'accept' })]);
    expect((await a.app.request('/v1/decisions/not-a-decision-here')).status).toBe(404);
    // why: explained by the other node under the version that decided, with the logged scores
    const why = await (await b.app.request(`/v1/decisions/${d.decisionId}?explain=true`)).json();
    expect(why.explanation.rulesetVersion).toBe(d.rulesetVersion);
    const presented = why.explanation.offers
      .filter((o: { presented: boolean }) => o.presented)
      .sort((x: { rank: number }, y: { rank: number }) => x.rank - y.rank);
    expect(presented.map((o: { offerId: string; score: number }) => [o.offerId, o.score])).toEqual(
      d.offers.map((o: { offerId: string; score: number }) => [o.offerId, o.score]),
    );
  });

  it('a decision waits for two round trips at most: the reads together, then the reservation', async () => {
    await put(a, 'R-RT', profile('R-RT'));
    // the scripts loaded: a first run on a server is an evalsha answered NOSCRIPT, then an eval
    await decide(b, 'R-1', 'call-center');
    const trips = async () => {
      const text = await (await b.app.request('/metrics')).text();
      const step = (s: string) =>
        Number(
          new RegExp(`^nextbest_decision_store_round_trips_total\\{step="${s}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
        );
      return { read: step('read'), reserve: step('reserve'), reread: step('reread') };
    };
    // what Redis itself was sent for this customer, counted apart from the service's own tally
    const monitor = await r.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(`${prefix}{R-RT}:`)))
        sent.push(`${args[0]!.toLowerCase()} ${args.find((a) => a.startsWith(prefix))}`);
    });
    const before = await trips();
    const n = 6;
    let offers = 0;
    for (let i = 0; i < n; i++) offers += (await decide(b, 'R-RT', i % 2 ? 'web' : 'call-center')).offers.length;
    const after = await trips();
    const scripts = () => sent.filter((s) => /^eval(sha)? /.test(s) && s.endsWith('{R-RT}:contacts')).length;
    await eventually(
      'the monitor has seen every decision',
      () => sent.filter((s) => s.startsWith('hgetall')).length >= n && scripts() >= after.reserve - before.reserve,
      2_000,
    );
    monitor.disconnect();
    const read = after.read - before.read;
    const reserve = after.reserve - before.reserve;
    const reread = after.reread - before.reread;
    expect(offers).toBeGreaterThan(0);
    // the contact state is read on every decision; the profile once, then from the cache
    expect(read).toBe(n);
    expect(sent.filter((s) => s === `hgetall ${prefix}{R-RT}:contacts`)).toHaveLength(n);
    expect(sent.filter((s) => s === `get ${prefix}{R-RT}:profile`)).toHaveLength(1);
    // every reservation the service waited for is one script run on the customer's contact state
    expect(reserve).toBeGreaterThan(0);
    expect(scripts()).toBe(reserve);
    expect(reread).toBe(0);
    expect((read + reserve + reread) / n).toBeLessThanOrEqual(2);
  });

  it('readyz and metrics report Redis as up', async () => {
    const ready = await (await a.app.request('/readyz')).json();
    expect(ready).toMatchObject({
      status: 'ready',
      profileStore: 'redis',
      degraded: false,
      redis: {
        read: { connection: 'ready', circuit: 'closed', up: true },
        write: { connection: 'ready', circuit: 'closed', up: true },
      },
    });
    const text = await (await a.app.request('/metrics')).text();
    expect(text).toMatch(/^nextbest_redis_up\{path="read"\} 1$/m);
    expect(text).toMatch(/^nextbest_redis_up\{path="write"\} 1$/m);
    expect(text).toMatch(/^nextbest_decision_log_entries_total\{result="written"\} [1-9]/m);
  });
});
