import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounters } from '../../src/counters/redis.js';
import type { Tally } from '../../src/counters/store.js';
import { Metrics } from '../../src/ops/metrics.js';
import { connectRedis, type RedisClient, RedisHealth, type RedisLane, whenReady } from '../../src/redis/index.js';
import { RedisServer } from '../support/redis.js';

const log = pino({ level: 'silent' });

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

  let shared: RedisLane | undefined;
  /** One health for the tests' counters, as a node's write lane has. */
  const lane = () =>
    (shared ??= {
      client,
      health: new RedisHealth(client, 'write', 200, new Metrics({ defaultMetrics: false }), pino({ level: 'silent' })),
    });
  const tally = (id: string, fields: string[], recordedAt: number, owed: boolean): Tally => ({
    id,
    fields,
    recordedAt,
    owed,
  });

  it('adds a batch exactly once when its write timed out after all and is tried again', async () => {
    const counters = new RedisCounters(lane(), 'c:{kpis}', pino({ level: 'silent' }));
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

  it('tallies an event once, however often and through however many nodes it is told', async () => {
    const key = 'c:{tally-once}';
    const [a, b] = [new RedisCounters(lane(), key, log), new RedisCounters(lane(), key, log)];
    const admin = redis.client();
    try {
      a.tally(tally('C1|warm-up', ['w'], Date.now(), true)); // marking begins
      await a.flush();
      const now = Date.now() + 1;
      a.tally(tally('C1|e1', ['x', 'y'], now, true));
      b.tally(tally('C1|e1', ['x', 'y'], now, true)); // another node that recorded it too
      a.tally(tally('C1|e1', ['x', 'y'], now, false)); // a duplicate told again
      // owed tallies count in this node's totals before they are written; a duplicate's do not
      expect((await a.totals()).get('x')).toBe(1);
      await Promise.all([a.flush(), b.flush()]);
      expect(await admin.hgetall(key)).toEqual({ w: '1', x: '1', y: '1' });
      // a duplicate of an event recorded since marking began and never tallied: its tally is made
      b.tally(tally('C2|e1', ['x'], now, false));
      // one recorded before: it may have been tallied without a mark, so only an owed tally is made
      b.tally(tally('C2|old', ['old'], now - 60_000, false));
      await b.flush();
      expect(await admin.hgetall(key)).toEqual({ w: '1', x: '2', y: '1' });
      b.tally(tally('C2|old', ['old'], now - 60_000, true));
      b.tally(tally('C2|e1', ['x'], now, true));
      await b.flush();
      expect(await admin.hgetall(key)).toEqual({ w: '1', x: '2', y: '1', old: '1' });
      // the marks share the hash's tag: one Cluster slot
      expect((await admin.keys('c:{tally-once}*')).sort()).toEqual(
        [
          'c:{tally-once}',
          ...(await admin.keys('c:{tally-once}:batch:*')).sort(),
          'c:{tally-once}:tallied',
          'c:{tally-once}:tallied:before',
        ].sort(),
      );
    } finally {
      admin.disconnect();
      await a.close();
      await b.close();
    }
  });

  it('keeps its marks by count, and then makes a duplicate tally only for events recorded after the newest mark let go', async () => {
    const key = 'c:{tally-bounded}';
    const counters = new RedisCounters(lane(), key, log, { ms: 3_600_000, most: 3 });
    const admin = redis.client();
    try {
      counters.tally(tally('C|warm-up', ['w'], Date.now(), true));
      await counters.flush();
      const t0 = Date.now() + 1;
      for (let i = 1; i <= 5; i++) counters.tally(tally(`C|e${i}`, ['x'], t0 + i, true));
      await counters.flush();
      expect(await admin.hget(key, 'x')).toBe('5');
      expect(await admin.zcard(`${key}:tallied`)).toBe(3);
      expect(Number(await admin.get(`${key}:tallied:before`))).toBe(t0 + 2);
      // e1's and e2's marks are gone: a duplicate of them is not tallied again; e5's is kept; e6 is new
      for (const i of [1, 2, 5, 6]) counters.tally(tally(`C|e${i}`, ['x'], t0 + i, false));
      await counters.flush();
      expect(await admin.hget(key, 'x')).toBe('6');
    } finally {
      admin.disconnect();
      await counters.close();
    }
  });

  it('hands what a stop could not write to the next start, which adds it once though the unanswered writes were applied', async () => {
    const key = 'c:{tally-stop}';
    const first = new RedisCounters(lane(), key, log);
    const admin = redis.client();
    try {
      first.tally(tally('C|warm-up', ['w'], Date.now(), true));
      await first.flush();
      const now = Date.now() + 1;
      first.add('decision', 2);
      first.tally(tally('C|e1', ['x'], now, true));
      await admin.client('PAUSE', 700, 'WRITE'); // writes wait past their deadline, then run
      await first.close();
      first.tally(tally('C|e2', ['x'], now, true)); // after the last write: never sent
      const backlog = JSON.parse(JSON.stringify(first.backlog()));
      expect(backlog.batches).toHaveLength(2);
      expect(await admin.hgetall(key)).toEqual({ w: '1' });
      await new Promise((r) => setTimeout(r, 900));
      expect(await admin.hgetall(key)).toEqual({ w: '1', decision: '2', x: '1' }); // applied after all
      const next = new RedisCounters(lane(), key, log);
      next.restore(backlog);
      expect((await next.totals()).get('x')).toBe(3); // not confirmed yet: counted as owed
      await next.flush();
      expect(await admin.hgetall(key)).toEqual({ w: '1', decision: '2', x: '2' });
      expect(next.backlog()).toBeUndefined();
      await next.close();
    } finally {
      admin.disconnect();
    }
  });
});
