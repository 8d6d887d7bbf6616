import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import { RedisContactStore } from '../../src/contacts/redis.js';
import { type ContactState, DAY_MS, dayOf, PRUNE_EVERY_MS, type Presented } from '../../src/contacts/state.js';
import { LEARNED_SUCCESS, LEARNED_TRIAL, OUTCOMES, type ResponseEvent } from '../../src/contacts/store.js';
import { decide } from '../../src/decision/decide.js';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { Metrics } from '../../src/ops/metrics.js';
import { connectRedis, type RedisClient, RedisHealth, RedisKeys, whenReady } from '../../src/redis/index.js';
import { testApp } from '../support/app.js';
import { testPrefix, testRedis } from '../support/redis.js';
import { SHIPPED_RULES, shippedRuleSet } from '../support/rules.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
/** Order-free, so two stores that wrote the same fields in any order compare equal. */
const canonical = (s: ContactState) => ({
  version: s.version,
  counts: s.counts.map((c) => JSON.stringify(c)).sort(),
  last: s.last.map((l) => JSON.stringify(l)).sort(),
  holds: s.holds.map((h) => JSON.stringify(h)).sort(),
});

describe('contact state in Redis', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let r: Redis;
  let clients: RedisClient[];
  let store: RedisContactStore;
  const prefix = testPrefix('contacts');
  const key = (customerId: string) => `${prefix}{${customerId}}:contacts`;

  beforeAll(async () => {
    redis = await testRedis();
    r = redis.client();
    const metrics = new Metrics({ defaultMetrics: false });
    // deadlines generous enough for a busy CI box: these tests are about what is written, not when
    const lane = (name: 'read' | 'write') => {
      const client = connectRedis({ url: redis.url }, { name: `test-${name}`, commandTimeout: 2_000 });
      return { client, health: new RedisHealth(client, name, 2_000, metrics, log) };
    };
    const [read, write] = [lane('read'), lane('write')];
    clients = [read.client, write.client];
    for (const c of clients) expect(await whenReady(c, 2_000)).toBe(true);
    store = new RedisContactStore(write, read, new RedisKeys(prefix), () => 30);
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.disconnect();
    r?.disconnect();
    await redis?.stop();
  });

  it('the Lua scripts and the in-process writers build the same state and learning marks from the same history', async () => {
    const offer = fc.constantFrom('service-help-centre', 'develop-tv-bundle', 'care-vip-invitation');
    const channel = fc.constantFrom('web', 'call-center');
    const decisionId = fc.constantFrom('d1', 'd2', 'd3');
    const event = fc.record({
      kind: fc.constant('event' as const),
      outcome: fc.constantFrom(...OUTCOMES),
      offerId: offer,
      channel,
      decisionId: fc.option(decisionId, { nil: undefined }),
      hoursAgo: fc.integer({ min: 0, max: 24 * 20 }),
      eventId: fc.integer({ min: 0, max: 12 }), // a small pool: duplicates happen
      ask: fc.option(fc.record({ trial: fc.boolean(), success: fc.boolean() }), { nil: undefined }),
    });
    const presented = fc.record({
      offerId: offer,
      channel,
      decision: fc.boolean(),
      holdMinutes: fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }),
    });
    const present = fc.record({
      kind: fc.constant('present' as const),
      decisionId,
      items: fc.array(presented, { maxLength: 3 }),
      stale: fc.boolean(),
    });
    let run = 0;
    const memory = new MemoryContactStore(() => 30); // one for all runs, fresh customers per run
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(event, present, present), { maxLength: 30 }), async (ops) => {
        const customerId = `P${run++}`;
        const now = Date.now();
        for (const op of ops) {
          if (op.kind === 'event') {
            const { outcome, offerId, channel, decisionId } = op;
            const e: ResponseEvent = {
              eventId: `e${op.eventId}`,
              customerId,
              offerId,
              outcome,
              channel,
              decisionId,
              at: now - op.hoursAgo * HOUR,
            };
            const [inRedis, inMemory] = [await store.record([e], [op.ask]), await memory.record([e], [op.ask])];
            expect(inRedis.accepted).toBe(inMemory.accepted);
            // the learning marks: a trial once per decision × offer, a success once and only after it
            expect(inRedis.learned).toEqual(inMemory.learned);
            // and a duplicate answers what its first recording counted
            expect(inRedis.earlier.map((d) => d.learned)).toEqual(inMemory.earlier.map((d) => d.learned));
          } else {
            const items: Presented[] = op.items.map((p) => ({
              ...p,
              holdUntil: p.holdMinutes === undefined ? undefined : now + p.holdMinutes * 60_000,
            }));
            const version = memory.read(customerId).version - (op.stale ? 1 : 0);
            expect(await store.reserve(customerId, version, op.decisionId, items, now)).toBe(
              memory.reserve(customerId, version, op.decisionId, items, now),
            );
          }
        }
        expect(canonical(await store.read(customerId))).toEqual(canonical(memory.read(customerId)));
      }),
      { numRuns: 40 },
    );
  });

  it('present with a stale version returns false and changes nothing', async () => {
    const customerId = 'stale-1';
    const now = Date.now();
    const hold: Presented = { offerId: 'service-help-centre', channel: 'web', decision: true, holdUntil: now + HOUR };
    await store.record([
      {
        eventId: 'e1',
        customerId,
        offerId: 'service-help-centre',
        outcome: 'impression',
        channel: 'web',
        decisionId: undefined,
        at: now,
      },
    ]);
    const before = await r.hgetall(key(customerId));
    expect(before.v).toBe('1');
    expect(await store.reserve(customerId, 0, 'd-late', [hold], now)).toBe(false);
    expect(await store.reserve(customerId, 2, 'd-ahead', [hold], now)).toBe(false);
    expect(await r.hgetall(key(customerId))).toEqual(before);
    expect(await store.reserve(customerId, 1, 'd-now', [hold], now)).toBe(true);
    const after = await store.read(customerId);
    expect(after.version).toBe(2);
    expect(after.holds).toEqual([
      { channel: 'web', offerId: 'service-help-centre', decisionId: 'd-now', expiresAt: now + HOUR },
    ]);
    expect(after.counts).toContainEqual({
      outcome: 'decision',
      channel: 'web',
      offerId: 'service-help-centre',
      day: dayOf(now),
      n: 1,
    });
  });

  it('a duplicate answers when the event was recorded and what that counted for learning, in memory as in Redis', async () => {
    const memory = new MemoryContactStore(() => 30);
    const event = (eventId: string, outcome: ResponseEvent['outcome'], customerId: string): ResponseEvent => ({
      eventId,
      customerId,
      offerId: 'service-help-centre',
      outcome,
      channel: 'web',
      decisionId: 'd-dup',
      at: Date.now(),
    });
    const ask = { trial: true, success: true };
    for (const s of [store, memory]) {
      const customerId = `dup-${s.kind}`;
      const first = await s.record(
        [
          event('e-imp', 'impression', customerId),
          event('e-click', 'click', customerId),
          event('e-plain', 'click', customerId),
        ],
        [{ trial: true, success: false }, ask, undefined],
      );
      expect(first.learned).toEqual([LEARNED_TRIAL, LEARNED_SUCCESS, 0]);
      const again = await s.record(
        [
          event('e-click', 'click', customerId),
          event('e-imp', 'impression', customerId),
          event('e-plain', 'click', customerId),
        ],
        [ask, ask, ask],
      );
      expect(again).toMatchObject({ accepted: 0, duplicates: 3, stored: [] });
      expect(again.earlier.map((d) => [d.event.eventId, d.learned, d.recordedAt])).toEqual([
        ['e-click', LEARNED_SUCCESS, first.recordedAt],
        ['e-imp', LEARNED_TRIAL, first.recordedAt],
        ['e-plain', 0, first.recordedAt],
      ]);
    }
    // an eventId marked before what it learned was kept with it: recorded then, learned nothing known
    const then = Date.now() - 60_000;
    await r.zadd(`${prefix}{dup-earlier}:seen`, then, 'e-earlier');
    const earlier = await store.record([event('e-earlier', 'impression', 'dup-earlier')], [ask]);
    expect(earlier.earlier).toEqual([expect.objectContaining({ learned: 0, recordedAt: then })]);
  });

  it('pruning keeps the hash bounded: expired holds go on a later write, buckets past retention are never made', async () => {
    const customerId = 'prune-1';
    const start = Date.now();
    const hold = (i: number, until: number): Presented => ({
      offerId: `o-${i}`,
      channel: 'web',
      decision: false,
      holdUntil: until,
    });
    for (let v = 0; v < 300; v++)
      expect(await store.reserve(customerId, v, `d${v}`, [hold(v, start + 1_000)], start)).toBe(true);
    expect(await r.hlen(key(customerId))).toBe(302); // live holds are kept, however many (+ v, p)
    // a write after the prune interval, once those holds have expired, drops them
    const later = start + PRUNE_EVERY_MS + 60_000;
    expect(await store.reserve(customerId, 300, 'd-later', [hold(1, later + 3_600_000)], later)).toBe(true);
    expect(await r.hlen(key(customerId))).toBe(3); // v, p, the live hold
    // impressions older than the longest window (30 days here) update the latest time only
    const impression = (eventId: string, at: number): ResponseEvent => ({
      eventId,
      customerId,
      offerId: 'o-x',
      outcome: 'impression',
      channel: 'web',
      decisionId: undefined,
      at,
    });
    for (let i = 0; i < 200; i++) await store.record([impression(`old-${i}`, Date.now() - (31 + i) * DAY_MS)]);
    expect(await r.hlen(key(customerId))).toBe(4); // + t|impression|web|o-x
    await store.record([impression('today', Date.now())]);
    expect((await store.read(customerId)).counts).toEqual([
      { outcome: 'impression', channel: 'web', offerId: 'o-x', day: dayOf(Date.now()), n: 1 },
    ]);
  });
});

describe('a decision cap under 20 concurrent decisions', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let dir: string;
  let customer: ReturnType<typeof generateProfiles>[number];
  let capped: string;

  beforeAll(async () => {
    redis = await testRedis();
    // a demo customer whose eligible web offers all fit in one answer (limit 4): without the cap
    // every decision would show the capped offer
    const ruleset = await shippedRuleSet();
    customer = generateProfiles({ customers: 2_000, seed: 42 }).find((p) => {
      const ranked = decide(
        ruleset,
        { request: { customerId: p.customerId, channel: 'web' }, profile: p, degraded: false },
        priorPropensity,
      ).ranked;
      return ranked.length > 0 && ranked.length <= 4;
    })!;
    capped = decide(
      ruleset,
      { request: { customerId: customer.customerId, channel: 'web' }, profile: customer, degraded: false },
      priorPropensity,
    ).ranked[0]!.offer.id;
    dir = await mkdtemp(join(tmpdir(), 'nextbest-cap-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
    const rule = {
      type: 'frequencyCap',
      name: 'twice a day',
      offers: [capped],
      channel: 'web',
      counts: 'decision',
      max: 2,
      windowDays: 1,
    };
    await writeFile(
      join(dir, 'contact-policy.json'),
      JSON.stringify({ channels: { web: { maxOffers: 4 }, 'call-center': { maxOffers: 3 } }, rules: [rule] }),
    );
  });
  afterAll(async () => {
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const burst = async (app: Awaited<ReturnType<typeof testApp>>) => {
    const put = await app.app.request(`/v1/profiles/${customer.customerId}`, {
      method: 'PUT',
      body: JSON.stringify(customer),
      headers: { 'content-type': 'application/json' },
    });
    expect(put.status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await app.post('/v1/decisions', { customerId: customer.customerId, channel: 'web', limit: 4 });
        expect(res.status).toBe(200);
        return (await res.json()) as { offers: { offerId: string }[] };
      }),
    );
    return answers.filter((a) => a.offers.some((o) => o.offerId === capped)).length;
  };

  it('with the Redis store, the offer is shown at most twice in all', async () => {
    const prefix = testPrefix('cap');
    const app = await testApp({
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      RULES_DIR: dir,
      REDIS_DEADLINE_MS: '500',
    });
    try {
      const shown = await burst(app);
      expect(shown).toBeGreaterThanOrEqual(1);
      expect(shown).toBeLessThanOrEqual(2);
      // what was reserved is what was shown
      const r = redis.client();
      try {
        expect(
          Number(
            await r.hget(`${prefix}{${customer.customerId}}:contacts`, `n|decision|web|${capped}|${dayOf(Date.now())}`),
          ),
        ).toBe(shown);
      } finally {
        r.disconnect();
      }
    } finally {
      await app.services.close();
    }
  });

  it('with the memory store, the same', async () => {
    const app = await testApp({ RULES_DIR: dir });
    const shown = await burst(app);
    expect(shown).toBeGreaterThanOrEqual(1);
    expect(shown).toBeLessThanOrEqual(2);
    const state = app.services.responses['store'].read(customer.customerId) as ContactState;
    expect(state.counts.filter((c) => c.offerId === capped).reduce((n, c) => n + c.n, 0)).toBe(shown);
  });
});
