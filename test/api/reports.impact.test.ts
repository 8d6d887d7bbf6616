import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { impactReport } from '../../src/offline/impact/index.js';
import { testApp } from '../support/app.js';
import { testPrefix, testRedis } from '../support/redis.js';

const ADMIN = 'impact-admin-key';
const DECIDE = 'impact-decide-key';
const DAY = 86_400_000;
const T0 = Date.parse('2026-01-05T10:00:00Z');
const auth = (key = ADMIN) => ({ headers: { authorization: `Bearer ${key}` } });

/** Decision-log records and transactions of `n` customers, a quarter in the control group. */
function world(n: number, transactionsEach = 2) {
  const decisions: string[] = [];
  const transactions: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `W${i}`;
    const t0 = T0 + (i % 20) * DAY;
    decisions.push(
      JSON.stringify({
        decisionId: `w-${i}`,
        at: new Date(t0).toISOString(),
        customerId: id,
        channel: 'web',
        interactionId: null,
        arm: i % 4 === 0 ? 'control' : 'champion',
        rulesetVersion: 'v+1',
        degraded: false,
        preview: false,
        profile: {
          found: true,
          valueSegment: 'top',
          lifecyclePhase: i % 2 ? 'retain' : 'loyalty',
          clv: 1,
          churnScore: 0.1,
        },
        offers: [],
      }),
    );
    for (let k = 0; k < transactionsEach; k++)
      transactions.push(
        JSON.stringify({
          customerId: id,
          at: new Date(t0 + ((k % 60) - 30) * DAY).toISOString(),
          amount: 10 + ((i * 7 + k) % 13),
        }),
      );
  }
  transactions.push(JSON.stringify({ customerId: 'LAST', at: '2026-06-01', amount: 1 }));
  return { decisions: `${decisions.join('\n')}\n`, transactions: `${transactions.join('\n')}\n` };
}

describe('GET /v1/reports/impact', () => {
  let dir: string;
  let logDir: string;
  let transactions: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-impact-api-'));
    logDir = join(dir, 'decisions');
    await mkdir(logDir);
    const w = world(400);
    await writeFile(join(logDir, 'decisions-2026-01-05.ndjson'), w.decisions);
    transactions = join(dir, 'transactions.ndjson');
    await writeFile(transactions, w.transactions);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const app = (env: Record<string, string> = {}) =>
    testApp({ API_KEYS: `admin:${ADMIN},decide:${DECIDE}`, DECISION_LOG_DIR: logDir, ...env });

  it('answers 404 with what to set when no transactions are configured', async () => {
    const t = await app();
    try {
      const res = await t.app.request('/v1/reports/impact', auth());
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((await res.json()).detail).toMatch(/TRANSACTIONS_PATH/);
    } finally {
      await t.services.close();
    }
  });

  it('answers the CLI’s document over the log’s files and TRANSACTIONS_PATH, for admin keys only', async () => {
    const t = await app({ TRANSACTIONS_PATH: transactions });
    try {
      const res = await t.app.request('/v1/reports/impact?outcomeDays=30&from=2026-01-01&to=2026-01-31', auth());
      expect(res.status).toBe(200);
      const body = await res.json();
      const expected = await impactReport({
        decisions: { path: logDir },
        transactions,
        from: '2026-01-01',
        to: '2026-01-31',
        outcomeDays: 30,
      });
      expect(body).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(body).toMatchObject({ customers: 400, measured: 400, pending: 0 });
      expect((await t.app.request('/v1/reports/impact', auth(DECIDE))).status).toBe(403);
      for (const q of ['outcomeDays=0', 'from=yesterday', 'from=2026-02-01&to=2026-01-01', 'nope=1']) {
        const bad = await t.app.request(`/v1/reports/impact?${q}`, auth());
        expect(bad.status, q).toBe(400);
      }
    } finally {
      await t.services.close();
    }
  });

  it('computes in a thread of its own: decisions answer while it runs, and a second report waits its turn', async () => {
    const big = join(dir, 'big.ndjson');
    await writeFile(big, world(400, 1500).transactions);
    const t = await app({ TRANSACTIONS_PATH: big });
    try {
      let reportDone = false;
      const first = Promise.resolve(t.app.request('/v1/reports/impact', auth())).then((r: Response) => {
        reportDone = true;
        return r;
      });
      const second = await t.app.request('/v1/reports/impact', auth());
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('10');
      const decided = await t.app.request('/v1/decisions', {
        method: 'POST',
        headers: { authorization: `Bearer ${DECIDE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 'C0000001', channel: 'web' }),
      });
      expect(decided.status).toBe(200);
      expect(reportDone).toBe(false);
      expect((await first).status).toBe(200);
    } finally {
      await t.services.close();
    }
  });

  it('reads the Redis stream with PROFILE_STORE=redis', async () => {
    const redis = await testRedis();
    const t = await app({
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: testPrefix('impact'),
      TRANSACTIONS_PATH: transactions,
    });
    try {
      for (const customerId of ['RX-1', 'RX-2'])
        expect(
          (
            await t.app.request('/v1/decisions', {
              method: 'POST',
              headers: { authorization: `Bearer ${DECIDE}`, 'content-type': 'application/json' },
              body: JSON.stringify({ customerId, channel: 'web' }),
            })
          ).status,
        ).toBe(200);
      let body: { customers: number } = { customers: 0 };
      for (let i = 0; i < 40 && body.customers < 2; i++) {
        body = await (await t.app.request('/v1/reports/impact', auth())).json();
        if (body.customers < 2) await new Promise((r) => setTimeout(r, 50));
      }
      expect(body.customers).toBe(2);
    } finally {
      await t.services.close();
      await redis.stop();
    }
  });
});
