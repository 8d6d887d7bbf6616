import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileName } from '../../src/decision-log/file.js';
import { testApp } from '../support/app.js';
import { run } from '../support/process.js';
import { testPrefix, testRedis } from '../support/redis.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/cli).
const exportOf = (...args: string[]) => run(['bin/nextbest.js', 'decisions', 'export', ...args]);
const records = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { decisionId: string; at: string; customerId: string; preview: boolean });
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('nextbest decisions export', () => {
  let dir: string;
  let made: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-export-'));
    const t = await testApp({ DECISION_LOG_DIR: dir });
    made = [];
    for (const customerId of ['C0000001', 'C0000002', 'C0000003']) {
      const d = await (await t.post('/v1/decisions', { customerId, channel: 'web' })).json();
      made.push(d.decisionId);
    }
    await t.services.close();
    // an older day's file, and a line a full disk cut short
    const old = { ...records((await exportOf('--dir', dir)).stdout)[0]!, decisionId: 'from-two-days-ago' };
    await writeFile(join(dir, fileName(day(-2), 0)), `${JSON.stringify(old)}\n{"decisionId":"cut-sh\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the memory store’s files as NDJSON records, oldest first, the days asked for', async () => {
    const all = await exportOf('--dir', dir);
    expect(all.code).toBe(0);
    expect(records(all.stdout).map((r) => r.decisionId)).toEqual(['from-two-days-ago', ...made]);
    expect(all.stderr).toMatch(/:2: not a record, passed over/);
    const today = await exportOf('--dir', dir, '--from', day(0), '--to', day(0));
    expect(records(today.stdout).map((r) => r.decisionId)).toEqual(made);
    const before = await exportOf('--dir', dir, '--to', day(-1));
    expect(records(before.stdout).map((r) => r.decisionId)).toEqual(['from-two-days-ago']);
    expect(records(before.stdout)[0]).toMatchObject({ customerId: 'C0000001', preview: false });
  });

  it('prints nothing for a folder without a log, and refuses what it cannot take', async () => {
    const empty = await exportOf('--dir', join(dir, 'none-here'));
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    for (const args of [
      ['--from', 'yesterday'],
      ['--from', day(0), '--to', day(-1)],
      ['--dir', dir, '--redis', 'redis://127.0.0.1:1'],
      ['--nope'],
    ]) {
      const r = await exportOf(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: nextbest decisions export/);
    }
    expect((await run(['bin/nextbest.js', 'decisions'])).code).toBe(2);
  });

  describe('from Redis', () => {
    let redis: Awaited<ReturnType<typeof testRedis>>;
    beforeAll(async () => {
      redis = await testRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('prints the stream’s records, each decision once, the days asked for', async () => {
      const prefix = testPrefix('export');
      const t = await testApp({ PROFILE_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
      const ids: string[] = [];
      for (const customerId of ['C0000001', 'C0000002']) {
        ids.push((await (await t.post('/v1/decisions', { customerId, channel: 'call-center' })).json()).decisionId);
      }
      await t.services.close();
      // a write retried after an answer was lost: the same record twice in the stream
      const c = redis.client();
      const fields = (await c.xrange(`${prefix}decisions`, '-', '+', 'COUNT', 1))[0]![1];
      await c.xadd(`${prefix}decisions`, '*', ...fields);
      c.disconnect();
      const env = { REDIS_KEY_PREFIX: prefix };
      const all = await run(['bin/nextbest.js', 'decisions', 'export', '--redis', redis.url], env);
      expect(all.code).toBe(0);
      expect(records(all.stdout).map((r) => r.decisionId)).toEqual(ids);
      const later = await run(['bin/nextbest.js', 'decisions', 'export', '--redis', redis.url, '--from', day(1)], env);
      expect(later).toMatchObject({ code: 0, stdout: '' });
      const down = await run(['bin/nextbest.js', 'decisions', 'export', '--redis', 'redis://127.0.0.1:1'], env);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/cannot reach Redis/);
    });
  });
});
