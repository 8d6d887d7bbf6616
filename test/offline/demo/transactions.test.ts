import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemoData } from '../../../src/cli/demo-data.js';
import { segmentSizes } from '../../../src/offline/analytics/segments.js';
import { DAY_MS, endOfDay } from '../../../src/offline/analytics/timestamps.js';
import { Transaction } from '../../../src/offline/analytics/transaction.js';
import { readHistories } from '../../../src/offline/analytics/transactions.js';
import { PRODUCTS } from '../../../src/offline/demo/profiles.js';
import {
  type DemoTransaction,
  demoTransactionLine,
  iterateDemoTransactions,
  Kind,
  planDemo,
} from '../../../src/offline/demo/transactions.js';
import { VALUE_SEGMENTS } from '../../../src/profiles/schema.js';

const AS_OF = endOfDay('2026-03-01');
const generate = (customers: number, seed: number, asOf = AS_OF): DemoTransaction[] =>
  Array.from(iterateDemoTransactions({ customers, seed, asOf }));

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('the demo transaction history', () => {
  const sample = generate(2000, 5);

  it('is deterministic per seed and as-of date, and differs between seeds', () => {
    expect(generate(300, 7)).toEqual(generate(300, 7));
    expect(generate(300, 8)).not.toEqual(generate(300, 7));
    const later = generate(300, 7, endOfDay('2026-04-01'));
    expect(later.map((t) => t.amount)).toEqual(generate(300, 7).map((t) => t.amount)); // the same story, 31 days later
  });

  it('writes lines that pass the schema unchanged, with cents, refunds, several products and both date forms', () => {
    const changed = sample.filter(
      (t) => JSON.stringify(Transaction.parse(JSON.parse(demoTransactionLine(t)))) !== JSON.stringify(t),
    );
    expect(changed).toEqual([]);
    expect(sample.filter((t) => Math.round(t.amount * 100) / 100 !== t.amount)).toEqual([]);
    const refunds = sample.filter((t) => t.amount < 0).length / sample.length;
    expect(refunds).toBeGreaterThan(0.01);
    expect(refunds).toBeLessThan(0.06);
    const products = new Set(sample.map((t) => t.product));
    expect(products.size).toBeGreaterThanOrEqual(8);
    expect([...products].every((p) => p === undefined || (PRODUCTS as readonly string[]).includes(p))).toBe(true);
    expect(sample.some((t) => t.at.length === 10)).toBe(true);
    expect(sample.some((t) => /T\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/.test(t.at))).toBe(true);
  });

  it('covers the three years up to the as-of date, customer by customer, in day order', () => {
    const days = sample.map((t) => Math.floor(Date.parse(t.at) / DAY_MS));
    const asOfDay = Math.floor(AS_OF / DAY_MS);
    expect(Math.max(...days)).toBeLessThanOrEqual(asOfDay);
    expect(Math.min(...days)).toBeGreaterThanOrEqual(asOfDay - 3 * 365 + 1);
    const outOfOrder = sample.filter((b, i) => {
      const a = sample[i - 1];
      return (
        a !== undefined && (b.customerId < a.customerId || (a.customerId === b.customerId && days[i]! < days[i - 1]!))
      );
    });
    expect(outOfOrder).toEqual([]);
  });

  it('buys about monthly: 10–14 purchase days per active year', async () => {
    const read = await readHistories(sample.map(demoTransactionLine), AS_OF, { strict: true });
    const stayers = [...read.customers.values()].filter((h) => h.activeThisYear && h.activeLastYear && h.activeBefore);
    const perYear = stayers.reduce((n, h) => n + h.purchaseDays, 0) / stayers.length / 3;
    expect(perYear).toBeGreaterThan(10);
    expect(perYear).toBeLessThan(14);
  });

  it('plans exact segments, a stable base and newcomers that refill what was lost', () => {
    const plan = planDemo(5000, 3);
    expect(plan.base).toBe(5000);
    const count = (from: number, to: number, kind?: number) => {
      const out = { super: 0, top: 0, middle: 0, bottom: 0 };
      for (let i = from; i < to; i++)
        if (kind === undefined || plan.kindOf[i] === kind) out[VALUE_SEGMENTS[plan.segmentOf[i]!]!]++;
      return out;
    };
    expect(count(0, 5000)).toEqual(segmentSizes(5000));
    expect(count(0, 5000, Kind.Stays)).toEqual(plan.retained);
    const thisYear = count(0, 5000, Kind.Stays);
    const newcomers = count(5000, 5000 + plan.newcomers);
    for (const s of VALUE_SEGMENTS) thisYear[s] += newcomers[s];
    expect(thisYear).toEqual(segmentSizes(5000));
    expect(plan.regained + plan.new).toBe(plan.newcomers);
    expect(plan.regained / plan.newcomers).toBeGreaterThan(0.2);
    expect(plan.regained / plan.newcomers).toBeLessThan(0.4);
  });

  it('streams: the first line of a million customers comes without generating the rest', () => {
    const started = performance.now();
    const first = iterateDemoTransactions({ customers: 1_000_000, seed: 1, asOf: AS_OF }).next();
    expect(first.value).toMatchObject({ customerId: 'C0000001' });
    expect(performance.now() - started).toBeLessThan(5_000); // only the plan: two bytes per customer
  });
});

describe('demo-data --transactions', () => {
  it('writes the same lines as the generator, to stdout', async () => {
    const out = sink();
    const err = sink();
    expect(
      await runDemoData(['--transactions', '--customers', '50', '--seed', '9', '--as-of', '2026-03-01'], {
        stdout: out.stream,
        stderr: err.stream,
      }),
    ).toBe(0);
    expect(err.text()).toBe('');
    expect(out.text()).toBe(
      generate(50, 9)
        .map((t) => `${demoTransactionLine(t)}\n`)
        .join(''),
    );
  });

  it('defaults --as-of to today (UTC)', async () => {
    const out = sink();
    expect(
      await runDemoData(['--transactions', '--customers', '5'], { stdout: out.stream, stderr: sink().stream }),
    ).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect(out.text()).toBe(
      generate(5, 42, endOfDay(today))
        .map((t) => `${demoTransactionLine(t)}\n`)
        .join(''),
    );
  });

  it.each([
    [['--as-of', '2026-03-01']],
    [['--transactions', '--as-of', '2026-02-30']],
    [['--transactions', '--as-of', 'today']],
  ])('returns 2 for %j', async (args) => {
    const err = sink();
    expect(await runDemoData(args, { stdout: sink().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(/--as-of/);
  });
});
