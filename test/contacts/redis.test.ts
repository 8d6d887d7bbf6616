import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import { RedisContactStore } from '../../src/contacts/redis.js';
import {
  applySent,
  type ContactState,
  DAY_MS,
  dayOf,
  EMPTY_CONTACTS,
  type OutboundWrite,
  PRUNE_AT_FIELDS,
  PRUNE_EVERY_MS,
  type Presented,
  RUN_RETENTION_DAYS,
} from '../../src/contacts/state.js';
import { LEARNED_SUCCESS, LEARNED_TRIAL, OUTCOMES, type ResponseEvent } from '../../src/contacts/store.js';
import { decide } from '../../src/decision/decide.js';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { Metrics } from '../../src/ops/metrics.js';
import { connectRedis, type RedisClient, RedisHealth, RedisKeys, whenReady } from '../../src/redis/index.js';
import { testApp } from '../support/app.js';
import { RedisCluster, testPrefix, testRedis } from '../support/redis.js';
import { SHIPPED_RULES, shippedRuleSet } from '../support/rules.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
/** Order-free, so two stores that wrote the same fields in any order compare equal. */
const canonical = (s: ContactState) => ({
  version: s.version,
  counts: s.counts.map((c) => JSON.stringify(c)).sort(),
  last: s.last.map((l) => JSON.stringify(l)).sort(),
  holds: s.holds.map((h) => JSON.stringify(h)).sort(),
  journeys: [...s.journeys].sort(),
  runs: [...s.runs].sort(),
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
  /** The memory store's fields for a customer, as numbers by field: what its twin wrote. */
  const memoryFields = (m: MemoryContactStore, customerId: string) =>
    Object.fromEntries(
      (m as unknown as { customers: { get(id: string): { fields: Map<string, number> } | undefined } }).customers.get(
        customerId,
      )?.fields ?? [],
    );
  /** The hash, as numbers by field; `p` (when it was pruned, by each store's own clock) only as present. */
  const redisFields = async (customerId: string) =>
    Object.fromEntries(Object.entries(await r.hgetall(key(customerId))).map(([f, v]) => [f, Number(v)]));
  const withoutPrunedAt = (fields: Record<string, number>) => {
    const { p, ...rest } = fields;
    return { ...rest, pruned: p !== undefined };
  };
  const send = (runKey: string, at: number, extra: Partial<OutboundWrite> = {}): OutboundWrite => ({
    runKey,
    at,
    sent: [
      { offerId: 'save-1', channel: 'email', decisionId: 'd1' },
      { offerId: 'tips', channel: 'sms', decisionId: 'd1' },
    ],
    journeys: new Map([
      ['anti-churn', at],
      ['anti-churn|wave-1', at],
    ]),
    dropJourneys: [],
    ...extra,
  });

  it('send writes counts, the latest impressions, journey and run fields in one step, and they parse back', async () => {
    const customerId = 'send-1';
    const at = Date.now() - HOUR;
    expect(await store.send(customerId, send('2026-W50', at))).toBe(true);
    const day = dayOf(at);
    expect(await redisFields(customerId)).toEqual({
      [`n|decision|email|save-1|${day}`]: 1,
      [`n|impression|email|save-1|${day}`]: 1,
      [`n|decision|sms|tips|${day}`]: 1,
      [`n|impression|sms|tips|${day}`]: 1,
      't|impression|email|save-1': at,
      't|impression|sms|tips': at,
      'J|anti-churn': at,
      'J|anti-churn|wave-1': at,
      'o|2026-W50': at,
      v: 1,
    });
    expect(await r.ttl(key(customerId))).toBeGreaterThan(399 * 24 * 3600);
    const state = await store.read(customerId);
    expect(state.version).toBe(1);
    expect(state.journeys).toEqual(
      new Map([
        ['anti-churn', at],
        ['anti-churn|wave-1', at],
      ]),
    );
    expect(state.runs).toEqual(new Map([['2026-W50', at]]));
    expect(state.last).toContainEqual({ outcome: 'impression', channel: 'sms', offerId: 'tips', at });
  });

  it('send writes once per runKey: the second changes nothing; another run writes and drops journey fields', async () => {
    const customerId = 'send-2';
    const at = Date.now() - 2 * HOUR;
    expect(await store.send(customerId, send('2026-W50', at))).toBe(true);
    const before = await r.hgetall(key(customerId));
    expect(await store.send(customerId, send('2026-W50', at + HOUR, { journeys: new Map([['x', 1]]) }))).toBe(false);
    expect(await r.hgetall(key(customerId))).toEqual(before);
    expect((await store.read(customerId)).version).toBe(1);
    const later = at + HOUR;
    const next = send('2026-W51', later, {
      sent: [],
      journeys: new Map([['x', 2]]),
      dropJourneys: ['anti-churn|wave-1', 'never-set'],
    });
    expect(await store.send(customerId, next)).toBe(true);
    const state = await store.read(customerId);
    expect(state.version).toBe(2);
    expect(state.journeys).toEqual(
      new Map([
        ['anti-churn', at],
        ['x', 2],
      ]),
    );
    expect(state.runs).toEqual(
      new Map([
        ['2026-W50', at],
        ['2026-W51', later],
      ]),
    );
    expect(await r.hexists(key(customerId), 'J|anti-churn|wave-1')).toBe(0);
  });

  it('the send script and its twin applySent write the same fields, among decisions and events', async () => {
    const offer = fc.constantFrom('save-1', 'tips');
    const channel = fc.constantFrom('email', 'web');
    const journeyKey = fc.constantFrom('j1', 'j1|wave-1', 'j2');
    const sendOp = fc.record({
      kind: fc.constant('send' as const),
      runKey: fc.constantFrom('2026-W49', '2026-W50', '2026-W51'), // a small pool: repeats happen
      hoursAgo: fc.integer({ min: 0, max: 24 * 40 }), // some past the 30 days of buckets
      sent: fc.array(fc.record({ offerId: offer, channel, decisionId: fc.constantFrom('d1', 'd2') }), { maxLength: 3 }),
      // any finite number; -0 made 0, as Redis writes it
      journeys: fc.array(
        fc.tuple(
          journeyKey,
          fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0),
        ),
        {
          maxLength: 3,
        },
      ),
      dropJourneys: fc.array(journeyKey, { maxLength: 2 }),
    });
    const eventOp = fc.record({
      kind: fc.constant('event' as const),
      outcome: fc.constantFrom(...OUTCOMES),
      offerId: offer,
      channel,
      hoursAgo: fc.integer({ min: 0, max: 24 * 20 }),
    });
    const presentOp = fc.record({ kind: fc.constant('present' as const), offerId: offer, channel });
    let run = 0;
    const memory = new MemoryContactStore(() => 30);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(sendOp, sendOp, eventOp, presentOp), { maxLength: 20 }), async (ops) => {
        const customerId = `S${run++}`;
        const now = Date.now();
        for (const [i, op] of ops.entries()) {
          const at = now - (op.kind === 'present' ? 0 : op.hoursAgo) * HOUR;
          if (op.kind === 'send') {
            const write: OutboundWrite = { ...op, at, journeys: new Map(op.journeys) };
            expect(await store.send(customerId, write)).toBe(memory.send(customerId, write));
          } else if (op.kind === 'event') {
            const e: ResponseEvent = { ...op, eventId: `e${i}`, customerId, decisionId: undefined, at };
            await Promise.all([store.record([e]), memory.record([e])]);
          } else {
            const p: Presented[] = [{ ...op, decision: true, holdUntil: now + HOUR }];
            const version = memory.read(customerId).version;
            expect(await store.reserve(customerId, version, `d${i}`, p, now)).toBe(
              memory.reserve(customerId, version, `d${i}`, p, now),
            );
          }
        }
        expect(await redisFields(customerId)).toEqual(memoryFields(memory, customerId));
        expect(canonical(await store.read(customerId))).toEqual(canonical(memory.read(customerId)));
      }),
      { numRuns: 40 },
    );
  });

  it('a pruning send keeps the journey fields and drops run marks past RUN_RETENTION_DAYS, as its twin does', async () => {
    const customerId = 'send-prune';
    const now = Date.now();
    const seeded = new Map<string, number>([
      ['v', 7],
      ['o|2025-W01', now - (RUN_RETENTION_DAYS + 1) * DAY_MS],
      ['o|2026-W01', now - 300 * DAY_MS],
      [`n|impression|email|save-1|${dayOf(now) - 45}`, 3],
      ['h|web|save-1|d-old', now - 1],
      ...Array.from({ length: PRUNE_AT_FIELDS }, (_, i) => [`J|journey-${i}|step`, now - i] as const),
    ]);
    await r.hset(key(customerId), Object.fromEntries(seeded));
    const write = send('2026-W50', now);
    expect(await store.send(customerId, write)).toBe(true);
    const twin = new Map(seeded);
    expect(applySent(twin, write, now, 30)).toBe(true);
    const fields = await redisFields(customerId);
    expect(withoutPrunedAt(fields)).toEqual(withoutPrunedAt(Object.fromEntries(twin)));
    expect(fields.p).toBeDefined();
    expect(fields['o|2025-W01']).toBeUndefined();
    expect(fields['o|2026-W01']).toBe(now - 300 * DAY_MS);
    expect(fields[`n|impression|email|save-1|${dayOf(now) - 45}`]).toBeUndefined();
    expect(fields['h|web|save-1|d-old']).toBeUndefined();
    for (let i = 0; i < PRUNE_AT_FIELDS; i++) expect(fields[`J|journey-${i}|step`]).toBe(now - i);
  });

  it('readMany answers the states in order, undefined for one that cannot be read, and throws when none can', async () => {
    const at = Date.now();
    await store.send('many-1', send('2026-W50', at));
    await store.send('many-3', send('2026-W51', at));
    await r.set(key('many-bad'), 'not a hash'); // HGETALL fails for this one: WRONGTYPE
    const states = await store.readMany(['many-3', 'many-bad', 'many-none', 'many-1']);
    expect(states.map((s) => s && [...s.runs.keys()])).toEqual([['2026-W51'], undefined, [], ['2026-W50']]);
    expect(states[2]).toBe(EMPTY_CONTACTS);
    expect(states[0]).toEqual(await store.read('many-3'));
    expect(await store.readMany([])).toEqual([]);
    await expect(store.readMany(['many-bad'])).rejects.toThrow(/Redis is unavailable \(contacts read\)/);
  });
});

describe('contact state on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let clients: RedisClient[];
  let store: RedisContactStore;

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    const metrics = new Metrics({ defaultMetrics: false });
    const target = { url: 'redis://127.0.0.1:1', clusterNodes: cluster.seeds.split(',') };
    const lane = (name: 'read' | 'write') => {
      const client = connectRedis(target, { name: `test-${name}`, commandTimeout: 5_000 });
      return { client, health: new RedisHealth(client, name, 5_000, metrics, log) };
    };
    const [read, write] = [lane('read'), lane('write')];
    clients = [read.client, write.client];
    for (const c of clients) expect(await whenReady(c, 5_000)).toBe(true);
    store = new RedisContactStore(write, read, new RedisKeys('nb:'), () => 30);
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.disconnect();
    await cluster?.stop();
  });

  it('sends once per run and reads many customers of every master in order, undefined for one that cannot be read', async () => {
    const at = Date.now();
    const customers = Array.from({ length: 60 }, (_, i) => `K${i}`);
    const write: OutboundWrite = {
      runKey: '2026-W50',
      at,
      sent: [{ offerId: 'save-1', channel: 'email', decisionId: 'd1' }],
      journeys: new Map([['anti-churn', at]]),
      dropJourneys: [],
    };
    for (const c of customers.filter((_, i) => i % 2 === 0)) expect(await store.send(c, write)).toBe(true);
    expect(await store.send('K0', write)).toBe(false);
    const owner = (await cluster.nodeFor('nb:{K7}:contacts')).client();
    await owner.set('nb:{K7}:contacts', 'not a hash');
    owner.disconnect();
    const states = await store.readMany(customers);
    expect(states.map((s) => s?.runs.get('2026-W50'))).toEqual(customers.map((_, i) => (i % 2 === 0 ? at : undefined)));
    expect(states[7]).toBeUndefined();
    expect(states[1]).toBe(EMPTY_CONTACTS);
    expect(states[0]?.version).toBe(1);
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
