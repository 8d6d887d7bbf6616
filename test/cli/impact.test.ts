import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';
import { run } from '../support/process.js';
import { testPrefix, testRedis } from '../support/redis.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/cli).
const impact = (...args: string[]) => run(['bin/nextbest.js', 'impact', ...args]);
const DAY = 86_400_000;
const T0 = Date.parse('2026-01-05T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

interface Made {
  id: string;
  arm: 'control' | 'champion' | 'challenger';
  phase: string;
  segment: string;
  t0: number;
  pre: number;
  post: number;
  active: boolean;
}

/** A seeded population: decisions (with previews and later decisions that must not count) and transactions around each t0. */
function fixture() {
  let s = 2026;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const made: Made[] = [];
  const decisions: string[] = [];
  const transactions: string[] = [];
  const record = (id: string, at: number, arm: string, phase: string, segment: string, preview = false) =>
    JSON.stringify({
      decisionId: `d-${decisions.length}`,
      at: iso(at),
      customerId: id,
      channel: 'web',
      interactionId: null,
      arm,
      rulesetVersion: 'v+1',
      degraded: false,
      preview,
      profile: { found: true, valueSegment: segment, lifecyclePhase: phase, clv: 100, churnScore: 0.2 },
      offers: [],
    });
  const cells: [string, string, number][] = [
    ['retain', 'top', 300],
    ['retain', 'middle', 300],
    ['loyalty', 'top', 300],
    ['loyalty', 'middle', 300],
    ['new', 'bottom', 12], // too small for intervals
  ];
  let n = 0;
  for (const [phase, segment, count] of cells)
    for (let i = 0; i < count; i++) {
      const id = `K${String(++n).padStart(5, '0')}`;
      const u = rnd();
      const arm = u < 0.25 ? 'control' : u < 0.9 ? 'champion' : 'challenger';
      const t0 = T0 + Math.floor(rnd() * 20) * DAY + Math.floor(rnd() * 3_600_000);
      // a preview before t0 and a decision after it, on another arm: neither counts
      if (i % 7 === 0) decisions.push(record(id, t0 - DAY, 'control', 'new', 'super', true));
      decisions.push(record(id, t0, arm, phase, segment));
      if (i % 5 === 0)
        decisions.push(record(id, t0 + 2 * DAY, arm === 'control' ? 'champion' : 'control', phase, segment));
      const level = 20 + 80 * rnd();
      const pre = Math.round(level * (0.7 + 0.6 * rnd()) * 100) / 100;
      const effect = phase === 'retain' && arm !== 'control' ? 8 : 0;
      const buys = rnd() < 0.85;
      const post = buys ? Math.round((level * (0.7 + 0.6 * rnd()) + effect) * 100) / 100 : 0;
      transactions.push(JSON.stringify({ customerId: id, at: iso(t0 - 20 * DAY), amount: pre }));
      if (buys) transactions.push(JSON.stringify({ customerId: id, at: iso(t0 + 10 * DAY), amount: post }));
      // a refund inside the window, and purchases outside both windows: only the refund moves revenue
      if (i % 4 === 0) transactions.push(JSON.stringify({ customerId: id, at: iso(t0 + 20 * DAY), amount: -5 }));
      transactions.push(JSON.stringify({ customerId: id, at: iso(t0 - 40 * DAY), amount: 999 }));
      transactions.push(JSON.stringify({ customerId: id, at: iso(t0 + 31 * DAY), amount: 999 }));
      made.push({ id, arm, phase, segment, t0, pre, post: post - (i % 4 === 0 ? 5 : 0), active: buys });
    }
  // customers decided too late for their window to end by the last transaction: pending
  for (let i = 0; i < 25; i++) {
    const id = `LATE${i}`;
    decisions.push(record(id, Date.parse('2026-03-20T00:00:00Z'), 'champion', 'retain', 'top'));
    transactions.push(JSON.stringify({ customerId: id, at: '2026-03-25', amount: 10 }));
  }
  transactions.push(JSON.stringify({ customerId: 'SOMEONE', at: '2026-04-01', amount: 1 }));
  return { made, decisions, transactions };
}

type Report = {
  window: { from: string; to: string; outcomeDays: number; asOf: string };
  customers: number;
  measured: number;
  pending: number;
  comparisons: {
    name: string;
    groups: {
      lifecyclePhase: string;
      valueSegment: string;
      arms: Record<string, { customers: number; revenuePerCustomer: number; activeRate: number }>;
      revenuePerCustomer: {
        difference: number;
        ciLow: number;
        ciHigh: number;
        pValue: number;
        pValueHolm?: number;
      } | null;
      revenuePerCustomerCuped: { difference: number; ciLow: number; ciHigh: number; varianceReduction: number } | null;
      activeRate: { difference: number; ciLow: number; ciHigh: number } | null;
      incrementalRevenue: { total: number; ciLow: number; ciHigh: number } | null;
      minimumDetectableEffect: { revenuePerCustomer: number; activeRate: number } | null;
      note?: string;
    }[];
  }[];
};

describe('nextbest impact', () => {
  let dir: string;
  let made: Made[];
  let decisions: string;
  let transactions: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-impact-'));
    const f = fixture();
    made = f.made;
    decisions = join(dir, 'decisions.ndjson');
    transactions = join(dir, 'transactions.ndjson');
    await writeFile(decisions, `${f.decisions.join('\n')}\n`);
    await writeFile(transactions, `${f.transactions.join('\n')}\n`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const json = async (...args: string[]) => {
    const r = await impact(
      '--decisions',
      decisions,
      '--transactions',
      transactions,
      '--outcome-days',
      '30',
      '--json',
      ...args,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Report;
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('measures each customer from their first decision, against the control group, as the contract writes it', async () => {
    const report = await json();
    expect(report.window).toMatchObject({ outcomeDays: 30, asOf: '2026-04-01T00:00:00.000Z' });
    expect(report).toMatchObject({ customers: made.length + 25, measured: made.length, pending: 25 });
    const [vsControl, vsChampion] = report.comparisons;
    expect(report.comparisons.map((c) => c.name)).toEqual(['treatment-vs-control', 'challenger-vs-champion']);
    const all = vsControl!.groups[0]!;
    expect(all).toMatchObject({ lifecyclePhase: 'all', valueSegment: 'all' });
    // the arms' figures, computed here from what the fixture made
    const treated = made.filter((m) => m.arm !== 'control');
    const control = made.filter((m) => m.arm === 'control');
    expect(all.arms.treatment!.customers).toBe(treated.length);
    expect(all.arms.control!.customers).toBe(control.length);
    expect(all.arms.treatment!.revenuePerCustomer).toBeCloseTo(mean(treated.map((m) => m.post)), 9);
    expect(all.arms.control!.revenuePerCustomer).toBeCloseTo(mean(control.map((m) => m.post)), 9);
    expect(all.arms.treatment!.activeRate).toBeCloseTo(treated.filter((m) => m.active).length / treated.length, 12);
    const d = mean(treated.map((m) => m.post)) - mean(control.map((m) => m.post));
    expect(all.revenuePerCustomer!.difference).toBeCloseTo(d, 9);
    expect(all.incrementalRevenue!.total).toBeCloseTo(d * treated.length, 6);
    expect(all.revenuePerCustomer!.ciLow).toBeLessThan(d);
    expect(all.revenuePerCustomer!.ciHigh).toBeGreaterThan(d);
    expect(all.minimumDetectableEffect!.revenuePerCustomer).toBeGreaterThan(0);
    // challenger against champion: its own arms
    const champion = made.filter((m) => m.arm === 'champion').length;
    expect(vsChampion!.groups[0]!.arms.champion!.customers).toBe(champion);
  });

  it('finds the effect the fixture put in, tighter with CUPED, and none where there is none', async () => {
    const groups = (await json()).comparisons[0]!.groups;
    const of = (phase: string, segment: string) =>
      groups.find((g) => g.lifecyclePhase === phase && g.valueSegment === segment)!;
    for (const segment of ['top', 'middle']) {
      const retain = of('retain', segment);
      const loyal = of('loyalty', segment);
      for (const [g, truth] of [
        [retain, 8],
        [loyal, 0],
      ] as const) {
        const plain = g.revenuePerCustomer!;
        const adjusted = g.revenuePerCustomerCuped!;
        expect(plain.ciLow).toBeLessThan(truth);
        expect(plain.ciHigh).toBeGreaterThan(truth);
        expect(adjusted.ciLow).toBeLessThan(truth);
        expect(adjusted.ciHigh).toBeGreaterThan(truth);
        expect(adjusted.ciHigh - adjusted.ciLow).toBeLessThan(plain.ciHigh - plain.ciLow);
        expect(adjusted.varianceReduction).toBeGreaterThan(0.3);
        expect(plain.pValueHolm).toBeGreaterThanOrEqual(plain.pValue);
      }
    }
  });

  it('gives a group under 30 customers in an arm its counts and no interval, and says why', async () => {
    const small = (await json()).comparisons[0]!.groups.find((g) => g.lifecyclePhase === 'new')!;
    expect(small.arms.treatment!.customers + small.arms.control!.customers).toBe(12);
    expect(small).toMatchObject({ revenuePerCustomer: null, revenuePerCustomerCuped: null, activeRate: null });
    expect(small.note).toMatch(/fewer than 30 customers in an arm/);
  });

  it('takes the decisions of --from..--to and a chosen --as-of', async () => {
    const early = await json('--from', '2026-01-05', '--to', '2026-01-09');
    const expected = made.filter((m) => m.t0 < Date.parse('2026-01-10T00:00:00Z')).length;
    expect(early.measured).toBe(expected);
    expect(early.pending).toBe(0);
    // as of a day before the first windows end: everyone pending
    const soon = await json('--as-of', '2026-01-20');
    expect(soon).toMatchObject({ measured: 0, pending: made.length + 25 });
  });

  it('prints a table by default', async () => {
    const r = await impact('--decisions', dir, '--transactions', transactions, '--outcome-days', '30');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/treatment-vs-control: differences are treatment − control/);
    expect(r.stdout).toMatch(/^retain × top\s+\d+\s+\d+/m);
    // the summary last, its counts grouped as everywhere in text output
    expect(r.stdout).toMatch(/^customers: \d{1,3},\d{3} decided, /m);
    expect(r.stdout).toMatch(/\nread \d{1,3}(,\d{3})* decisions and \d{1,3}(,\d{3})+ transactions in [\d.]+ s\n$/);
  });

  it('refuses what it cannot take: usage 2, unreadable input 1', async () => {
    for (const args of [
      ['--transactions', transactions],
      ['--decisions', decisions],
      ['--decisions', decisions, '--redis', 'redis://x', '--transactions', transactions],
      ['--decisions', decisions, '--transactions', transactions, '--outcome-days', '0'],
      ['--decisions', decisions, '--transactions', transactions, '--from', '2026-02-01', '--to', '2026-01-01'],
      ['--decisions', decisions, '--transactions', transactions, '--as-of', 'soon'],
    ]) {
      const r = await impact(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^impact: .*\nusage: nextbest impact/s);
    }
    const missing = await impact('--decisions', join(dir, 'none.ndjson'), '--transactions', transactions);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});

describe('nextbest impact --redis', () => {
  it('reads the decision log from the Redis stream', async () => {
    const redis = await testRedis();
    const prefix = testPrefix('impact');
    const dir = await mkdtemp(join(tmpdir(), 'nextbest-impact-redis-'));
    try {
      const t = await testApp({ PROFILE_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
      const ids = ['RI-1', 'RI-2', 'RI-3'];
      for (const customerId of ids)
        expect((await t.post('/v1/decisions', { customerId, channel: 'web' })).status).toBe(200);
      await t.services.close();
      const tx = join(dir, 'tx.ndjson');
      await writeFile(tx, `${JSON.stringify({ customerId: 'RI-1', at: '2099-01-01', amount: 5 })}\n`);
      const r = await run(['bin/nextbest.js', 'impact', '--redis', redis.url, '--transactions', tx, '--json'], {
        REDIS_KEY_PREFIX: prefix,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ customers: 3, measured: 3, pending: 0 });
    } finally {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
