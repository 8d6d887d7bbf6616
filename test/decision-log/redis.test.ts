import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/decision/types.js';
import { DECISION_LOG_BUFFER, RedisDecisionLog } from '../../src/decision-log/redis.js';
import type { DecisionEntry } from '../../src/decision-log/store.js';
import { Metrics } from '../../src/ops/metrics.js';
import { connectRedis, RedisHealth, RedisKeys, whenReady } from '../../src/redis/index.js';
import { testApp } from '../support/app.js';
import { eventually, freeRedisPort, RedisServer } from '../support/redis.js';

const log = pino({ level: 'silent' });
const decision = (n: number): Decision => ({
  decisionId: `d-${n}`,
  customerId: `C${n}`,
  channel: 'web',
  placement: null,
  rulesetVersion: 'v1+abc',
  profile: { found: true, valueSegment: 'top', lifecyclePhase: 'loyalty' },
  offers: [
    { rank: 1, offerId: 'o-1', name: 'O', group: 'care', score: 0.5, propensity: 0.1, treatment: { title: 't' } },
  ],
  controlGroup: false,
  interactionId: null,
  arm: 'champion',
  degraded: false,
});

const entry = (n: number, at = Date.now()): DecisionEntry => ({
  decision: decision(n),
  at,
  preview: false,
  interactionId: null,
  clv: 1200,
  churnScore: 0.2,
});

function logTo(url: string, prefix: string, windowMs = 60_000) {
  const metrics = new Metrics({ defaultMetrics: false });
  const client = connectRedis({ url }, { name: 'test-write', commandTimeout: 500 });
  const lane = { client, health: new RedisHealth(client, 'write', 500, metrics, log) };
  return {
    client,
    metrics,
    log: new RedisDecisionLog(lane, lane, new RedisKeys(prefix), 1_000_000, windowMs, metrics, log),
  };
}

const decisionIdOf = (fields: string[]) => (JSON.parse(fields[1]!) as { decisionId: string }).decisionId;

// The decision log's writer against a real redis-server: backlog after an outage, bounded memory.
describe('the decision log', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('writes a backlog from an outage once Redis returns, each decision exactly once', async () => {
    const { client, log: decisions } = logTo(redis.url, 'backlog:');
    expect(await whenReady(client, 2_000)).toBe(true);
    await redis.kill();
    for (let i = 0; i < 3_000; i++) decisions.append(entry(i));
    await redis.restart();
    const c = redis.client();
    try {
      await eventually('the backlog is written', async () => (await c.xlen('backlog:decisions')) >= 3_000, 15_000);
      const ids = (await c.xrange('backlog:decisions', '-', '+')).map(([, f]) => decisionIdOf(f));
      expect(ids.length).toBe(3_000);
      expect(new Set(ids).size).toBe(3_000);
      expect(ids[0]).toBe('d-0'); // oldest first
    } finally {
      c.disconnect();
      await decisions.close();
      client.disconnect();
    }
  });

  it('holds at most its buffer while Redis is unreachable, dropping the oldest and counting them', async () => {
    const { client, metrics, log: decisions } = logTo(`redis://127.0.0.1:${await freeRedisPort()}`, 'gone:');
    try {
      const total = DECISION_LOG_BUFFER + 20_000;
      for (let i = 0; i < total; i++) decisions.append(entry(i));
      const text = await metrics.registry.metrics();
      const pending = Number(/^nextbest_decision_log_pending (\d+)$/m.exec(text)![1]);
      const dropped = Number(/^nextbest_decision_log_entries_total\{result="dropped"\} (\d+)$/m.exec(text)![1]);
      expect(pending).toBeLessThanOrEqual(DECISION_LOG_BUFFER);
      expect(pending + dropped).toBe(total);
    } finally {
      client.disconnect();
    }
  });

  it('finds a decision from another node, for its own customer only, within the response window', async () => {
    const a = logTo(redis.url, 'find:', 1_000);
    const b = logTo(redis.url, 'find:', 1_000);
    try {
      for (const n of [a, b]) expect(await whenReady(n.client, 2_000)).toBe(true);
      a.log.append(entry(7));
      await a.log.flush();
      const found = await b.log.find('C7', ['d-7', 'd-8']);
      expect([...found.keys()]).toEqual(['d-7']);
      expect(found.get('d-7')).toMatchObject({
        decisionId: 'd-7',
        customerId: 'C7',
        channel: 'web',
        arm: 'champion',
        preview: false,
        interactionId: null,
        profile: { found: true, valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 1200, churnScore: 0.2 },
        offers: [{ offerId: 'o-1', group: 'care', rank: 1, score: 0.5, propensity: 0.1 }],
      });
      expect((await b.log.find('C8', ['d-7'])).size).toBe(0);
      expect((await a.log.find('C8', ['d-7'])).size).toBe(0); // the deciding node's own memory binds it too
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await b.log.find('C7', ['d-7'])).size).toBe(0);
      expect((await a.log.find('C7', ['d-7'])).size).toBe(0);
    } finally {
      for (const n of [a, b]) {
        await n.log.close();
        n.client.disconnect();
      }
    }
  });

  it('writes a batch in order, each key kept for the response window or until its own later respondUntil', async () => {
    const { client, log: decisions } = logTo(redis.url, 'ttl:', 60_000);
    expect(await whenReady(client, 2_000)).toBe(true);
    const c = redis.client();
    try {
      const now = Date.now();
      const later = now + 28 * 86_400_000;
      for (let n = 1; n <= 250; n++)
        decisions.append(n === 7 ? { ...entry(n, now), respondUntil: later } : entry(n, now));
      await decisions.flush();
      const stream = await c.xrange('ttl:decisions', '-', '+');
      expect(stream.map(([, fields]) => decisionIdOf(fields))).toEqual(
        Array.from({ length: 250 }, (_, i) => `d-${i + 1}`),
      );
      const ttl = await c.pttl(new RedisKeys('ttl:').decision('d-1'));
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      const outbound = await c.pttl(new RedisKeys('ttl:').decision('d-7'));
      expect(Math.abs(outbound - (later - now))).toBeLessThan(10_000);
      expect(JSON.parse((await c.get(new RedisKeys('ttl:').decision('d-250')))!)).toMatchObject({
        decisionId: 'd-250',
        customerId: 'C250',
      });
    } finally {
      c.disconnect();
      await decisions.close();
      client.disconnect();
    }
  });

  it('writes a command per decision on a server that refuses its script, every decision still written', async () => {
    // a server without scripts, as a proxy in front of shards refuses a script over keys of several slots
    const noScripts = await RedisServer.start({
      args: ['--rename-command', 'EVALSHA', '', '--rename-command', 'EVAL', ''],
    });
    const { client, log: decisions } = logTo(noScripts.url, 'plain:');
    const c = noScripts.client();
    try {
      expect(await whenReady(client, 2_000)).toBe(true);
      for (let n = 1; n <= 150; n++) decisions.append(entry(n));
      await eventually('every decision is written', async () => (await c.xlen('plain:decisions')) >= 150, 10_000);
      const ids = (await c.xrange('plain:decisions', '-', '+')).map(([, f]) => decisionIdOf(f));
      expect(ids).toEqual(Array.from({ length: 150 }, (_, i) => `d-${i + 1}`));
      expect(await c.exists(new RedisKeys('plain:').decision('d-150'))).toBe(1);
    } finally {
      c.disconnect();
      await decisions.close();
      client.disconnect();
      await noScripts.stop();
    }
  });

  it('keeps no stream with DECISION_LOG_MAXLEN=0, and still the decisions responses name', async () => {
    const node = await testApp({
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'off:',
      DECISION_LOG_MAXLEN: '0',
    });
    const c = redis.client();
    try {
      expect((await node.post('/v1/decisions', { customerId: 'C1', channel: 'web' })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300)); // longer than the log's flush interval
      expect(await c.exists('off:decisions')).toBe(0);
      expect((await c.keys('off:decision:*')).length).toBe(1);
    } finally {
      c.disconnect();
      await node.services.close();
    }
  });
});
