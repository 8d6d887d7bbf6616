import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, postImpression, startService } from './support/process.js';
import { eventually, RedisServer, testPrefix } from './support/redis.js';

const json = { 'content-type': 'application/json' };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event in the customers' contact histories. */
async function storedEvents(r: Redis, prefix: string): Promise<number> {
  let stored = 0;
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*:events`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) stored += await r.xlen(k);
  } while (cursor !== '0');
  return stored;
}

/** Impressions in the offer report, every arm. */
async function reportedImpressions(base: string): Promise<number> {
  const report = (await (await fetch(`${base}/v1/reports/offers`)).json()) as {
    offers: { control: { impressions: number }; treatment: { impressions: number } }[];
  };
  return report.offers.reduce((n, o) => n + o.control.impressions + o.treatment.impressions, 0);
}

/** Learning trials every node has added (the shared hash). */
async function learnedTrials(r: Redis, prefix: string): Promise<number> {
  const counts = await r.hgetall(`${prefix}{learning}`);
  return Object.entries(counts).reduce((n, [field, v]) => (field.endsWith('|t') ? n + Number(v) : n), 0);
}

// Redis hangs (SIGSTOP) while a loaded node stops: writes it sent run when Redis resumes, without the node
describe('a stop while Redis hangs', () => {
  let redis: RedisServer;
  let spool: string;
  beforeAll(async () => {
    redis = await RedisServer.start();
    spool = mkdtempSync(join(tmpdir(), 'nextbest-spool-'));
  });
  afterAll(async () => {
    await redis?.stop();
    if (spool) await rm(spool, { recursive: true, force: true });
  });

  it('keeps what it could not write in the spool; the next start delivers it: stored events = report totals = learning trials', async () => {
    const prefix = testPrefix('stop');
    const env = {
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      SPOOL_DIR: spool,
      WORKERS: '1',
      REDIS_WRITE_TIMEOUT_MS: '200',
    };
    const first = await startService(env);
    let accepted = 0;
    let stop = false;
    // each event the first impression of its decision's offer: one trial each
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const customerId = `ST-${n}-${i % 40}`;
        try {
          const d = await (
            await fetch(`${first.base}/v1/decisions`, {
              method: 'POST',
              headers: json,
              body: JSON.stringify({ customerId, channel: 'web' }),
            })
          ).json();
          const offer = d.offers?.[0];
          if (!offer) continue;
          const res = await postImpression(first.base, customerId, d, offer.offerId);
          if (res.status === 202) accepted += (await res.json()).accepted;
        } catch {
          await pause(20); // the node has stopped taking connections
        }
      }
    };
    const clients = Array.from({ length: 12 }, (_, n) => client(n));
    await pause(1_000);
    redis.pause();
    await pause(1_000);
    first.child.kill('SIGTERM');
    const code = await exited(first.child);
    stop = true;
    await Promise.all(clients);
    redis.resume(); // the writes the stopped node sent, unanswered, run now

    expect(code, first.output()).toBe(0);
    expect(first.output()).not.toMatch(/lost/);
    const kept = first
      .output()
      .split('\n')
      .filter((l) => l.includes('kept in the spool'))
      .map((l) => JSON.parse(l) as { events: number; counts: number });
    expect(kept).toHaveLength(1);
    const files = readdirSync(spool).filter((f) => f.startsWith('spool-'));
    expect(files).toHaveLength(1);
    const spooled = JSON.parse(readFileSync(join(spool, files[0]!), 'utf8')) as {
      responses: { attempted: boolean }[];
    };
    expect(spooled.responses).toHaveLength(kept[0]!.events);
    const r = redis.client();
    // some were sent to the hung Redis and went unanswered: they ran when it resumed, unknown to the node
    expect(spooled.responses.filter((e) => e.attempted).length).toBeGreaterThan(0);
    await eventually(
      'spooled events recorded by Redis on resuming',
      async () => (await storedEvents(r, prefix)) > accepted - spooled.responses.length,
      5_000,
    );

    const second = await startService(env);
    try {
      expect(second.output()).toMatch(/delivering what an earlier stop left in the spool/);
      expect(readdirSync(spool)).toEqual([]);
      let last = { stored: 0, reported: 0, trials: 0 };
      const settled = async () => {
        last = {
          stored: await storedEvents(r, prefix),
          reported: await reportedImpressions(second.base),
          trials: await learnedTrials(r, prefix),
        };
        return last.stored === accepted && last.reported === accepted && last.trials === accepted;
      };
      const deadline = Date.now() + 10_000;
      while (!(await settled()) && Date.now() < deadline) await pause(100);
      expect(accepted).toBeGreaterThan(100);
      // every accepted event stored, reported and learned from, once
      expect(last).toEqual({ stored: accepted, reported: accepted, trials: accepted });
      // and the counts stay put: nothing is added twice once the node has written everything
      await pause(1_500);
      expect(await settled()).toBe(true);
    } finally {
      r.disconnect();
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toBe(0);
    }
  });
});
