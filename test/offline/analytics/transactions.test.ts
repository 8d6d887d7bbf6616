import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { segmentSizes } from '../../../src/offline/analytics/segments.js';
import { DAY_MS, endOfDay, parseTimestamp } from '../../../src/offline/analytics/timestamps.js';
import { checkTransaction, Transaction } from '../../../src/offline/analytics/transaction.js';
import {
  HistoryReader,
  MAX_LINE_CHARS,
  MAX_REPORTED_LINES,
  RejectedLinesError,
  readHistories,
  readHistoriesFromStream,
} from '../../../src/offline/analytics/transactions.js';

const AS_OF = endOfDay('2026-03-01');
const line = (customerId: string, at: string, amount: number, product?: string) =>
  JSON.stringify({ customerId, at, amount, ...(product && { product }) });

describe('timestamps', () => {
  it('reads dates as UTC midnight and date-times at their instant', () => {
    expect(parseTimestamp('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
    expect(parseTimestamp('2026-03-01T14:05:09Z')).toBe(Date.UTC(2026, 2, 1, 14, 5, 9));
    expect(parseTimestamp('2026-03-01T14:05:09.1234+01:30')).toBe(Date.UTC(2026, 2, 1, 12, 35, 9, 123));
    expect(parseTimestamp('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('0000-02-29')).toBe(Date.parse('0000-02-29'));
    for (const bad of [
      '2026-02-29',
      '2026-13-01',
      '2026-3-01',
      '2026-03-01T14:05Z',
      '2026-03-01T14:05:09',
      '2026-03-01T24:00:00Z',
      '2026-03-01t14:05:09z',
      '2026-03-01T14:05:09.Z',
      '2026-03-01T14:05:09+0100',
      ' 2026-03-01',
      '20260301',
    ]) {
      expect(parseTimestamp(bad), bad).toBeNaN();
    }
    expect(endOfDay('2026-03-01')).toBe(Date.UTC(2026, 2, 2) - 1);
  });

  const d2 = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => String(n).padStart(2, '0'));
  const timestampish = fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 9999 }), d2(0, 13), d2(0, 32))
      .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${m}-${d}`),
    fc
      .tuple(
        fc.integer({ min: 1900, max: 2100 }),
        d2(1, 12),
        d2(1, 31),
        d2(0, 24),
        d2(0, 60),
        d2(0, 60),
        fc.constantFrom('', '.5', '.123', '.123456789', '.'),
        fc.constantFrom('Z', 'z', '+01:00', '-05:30', '+24:00', '+01:60', '+0100', '', '+01'),
      )
      .map(([y, m, d, h, mi, s, f, z]) => `${y}-${m}-${d}T${h}:${mi}:${s}${f}${z}`),
    fc.string({ maxLength: 30 }),
  );

  it('accepts exactly what zod accepts, at the instant Date.parse gives (property)', () => {
    const at = Transaction.shape.at;
    fc.assert(
      fc.property(timestampish, (s) => {
        const ms = parseTimestamp(s);
        expect(Number.isNaN(ms)).toBe(!at.safeParse(s).success);
        if (!Number.isNaN(ms)) expect(ms).toBe(Date.parse(s));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('checkTransaction ≡ the zod schema', () => {
  const field = fc.oneof(
    fc.constantFrom(
      'C0000001',
      'a.b:c-d_e',
      '',
      'has space',
      'x'.repeat(128),
      'x'.repeat(129),
      '2026-03-01',
      '2026-03-01T10:00:00+01:00',
      '2026-02-30',
      'mobile',
      'p'.repeat(64),
      'p'.repeat(65),
    ),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    // biome-ignore lint/correctness/noPrecisionLoss: JSON's 1e999, which JavaScript reads as Infinity
    fc.constant(1e999),
    fc.string(),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 }),
  );
  const valid = fc.record({
    customerId: fc.constant('C1'),
    at: fc.constant('2026-03-01'),
    amount: fc.double({ noNaN: true }),
  });
  const candidate = fc.oneof(
    fc.record({ customerId: field, at: field, amount: field, product: field }, { requiredKeys: [] }),
    fc
      .tuple(
        valid,
        fc.dictionary(fc.constantFrom('product', 'extra', '__proto__', 'amount', 'at'), field, { maxKeys: 2 }),
      )
      .map(([v, more]) => JSON.parse(JSON.stringify({ ...v, ...more })) as unknown),
    fc.jsonValue(),
  );

  it('accepts and rejects the same values, and reads them the same (property)', () => {
    fc.assert(
      fc.property(candidate, (value) => {
        const fast = checkTransaction(value);
        const zod = Transaction.safeParse(value);
        expect(fast !== undefined).toBe(zod.success);
        if (fast && zod.success) {
          expect(fast).toEqual({
            customerId: zod.data.customerId,
            at: Date.parse(zod.data.at),
            amount: zod.data.amount,
            product: zod.data.product,
          });
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('readHistories', () => {
  it('keeps one history per customer with the windows, purchases and products defined in transactions.ts', async () => {
    const read = await readHistories(
      [
        line('a', '2022-01-01', 10), // before
        line('a', '2024-03-01', 8), // asOf − 730 days: the last day before last year
        line('a', '2024-03-02', 20, 'landline'), // the first day of last year: not a product of this year
        line('a', '2025-03-01', 4), // asOf − 365 days: the last day of last year
        line('a', '2025-03-02', 30, 'mobile'), // the first day of this year
        line('a', '2026-03-01T23:59:59Z', 5, 'fibre'), // the last second of the as-of day
        line('a', '2026-03-02T00:30:00+01:00', 7, 'tv'), // 2026-03-01 23:30 UTC: still this year, the same day
        line('a', '2026-03-01', -12, 'cloud'), // a refund: revenue only, no product
        line('a', '2026-03-02', 99), // after asOf: ignored
        line('a', '2026-03-01T23:30:00-01:00', 99), // 2026-03-02 00:30 UTC: ignored
        line('b', '2025-06-01', -40), // only a refund
      ],
      AS_OF,
    );
    expect(read.transactions).toBe(9);
    expect(read.ignoredAfterAsOf).toBe(2);
    const a = read.customers.get('a')!;
    expect(a).toMatchObject({
      customerId: 'a',
      first: Date.UTC(2022, 0, 1),
      last: Date.UTC(2026, 2, 1, 23, 59, 59),
      thisYear: 30 + 5 + 7 - 12,
      lastYear: 20 + 4,
      activeThisYear: true,
      activeLastYear: true,
      activeBefore: true,
      purchaseDays: 6,
    });
    expect([...a.products].sort()).toEqual(['fibre', 'mobile', 'tv']);
    const b = read.customers.get('b')!;
    expect(b).toMatchObject({
      thisYear: -40,
      activeThisYear: false,
      activeLastYear: false,
      activeBefore: false,
      purchaseDays: 0,
    });
    expect(b.first).toBeNaN();
    expect(b.last).toBeNaN();
  });

  it('counts distinct purchase days exactly, whatever the order (property)', async () => {
    const tx = fc.record({
      customer: fc.constantFrom('a', 'b', 'c'),
      day: fc.integer({ min: 0, max: 1200 }),
      hour: fc.integer({ min: 0, max: 23 }),
      cents: fc.integer({ min: -5000, max: 20000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(tx, { maxLength: 200 }), async (txs) => {
        const at = (t: { day: number; hour: number }) =>
          new Date(AS_OF - 1100 * DAY_MS + t.day * DAY_MS + t.hour * 3_600_000).toISOString().replace('.000Z', 'Z');
        const lines = txs.map((t) => line(t.customer, at(t), t.cents));
        const read = await readHistories(lines, AS_OF);
        const shuffled = await readHistories(lines.slice().reverse(), AS_OF);
        for (const id of ['a', 'b', 'c']) {
          const mine = txs.filter((t) => t.customer === id && Date.parse(at(t)) <= AS_OF);
          const days = new Set(mine.filter((t) => t.cents > 0).map((t) => Math.floor(Date.parse(at(t)) / DAY_MS)));
          expect(read.customers.get(id)?.purchaseDays ?? 0).toBe(days.size);
          expect(shuffled.customers.get(id)).toEqual(read.customers.get(id));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reports a bad line with its 1-based number and the field, and goes on', async () => {
    const read = await readHistories(
      [
        `\uFEFF${line('a', '2026-01-01', 10)}`,
        '',
        '{"customerId": "a", "at": "2026-01-01", "amount": 1',
        line('a', '2026-02-30', 10),
        JSON.stringify({ customerId: 'a', at: '2026-01-01', amount: 1, note: 'x' }),
        '{"customerId": "a", "at": "2026-01-01", "amount": 1e999}',
        JSON.stringify({ customerId: 'bad id', at: '2026-01-01', amount: '10', product: '' }),
        '   ',
        `${line('b', '2026-01-02', 5)}\r`,
      ],
      AS_OF,
    );
    expect(read.transactions).toBe(2);
    expect(read.rejectedLines).toBe(5);
    expect(read.rejected.map((r) => r.line)).toEqual([3, 4, 5, 6, 7]);
    const errors = (n: number) => read.rejected.find((r) => r.line === n)!.errors;
    expect(errors(3)[0]).toMatchObject({ path: '/', message: expect.stringMatching(/^invalid JSON/) });
    expect(errors(4)).toEqual([{ path: '/at', message: expect.stringMatching(/ISO date/) }]);
    expect(errors(5)).toEqual([{ path: '/', message: expect.stringMatching(/note/) }]);
    expect(errors(6)).toEqual([{ path: '/amount', message: expect.stringMatching(/finite number/) }]);
    expect(
      errors(7)
        .map((e) => e.path)
        .sort(),
    ).toEqual(['/amount', '/customerId', '/product']);
  });

  it('keeps the report bounded', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => (i % 2 ? line('a', '2026-01-01', 1) : 'nope'));
    lines.push(JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]))));
    const read = await readHistories(lines, AS_OF);
    expect(read.rejectedLines).toBe(501);
    expect(read.rejected).toHaveLength(MAX_REPORTED_LINES);
    expect(read.rejected[99]!.line).toBe(199);
    expect(read.transactions).toBe(500);
  });

  it('with strict, refuses the whole input and lists every bad line', async () => {
    const lines = [line('a', '2026-01-01', 1), 'oops', line('a', 'yesterday', 1)];
    const err = await readHistories(lines, AS_OF, { strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RejectedLinesError);
    expect((err as RejectedLinesError).rejected.map((r) => r.line)).toEqual([2, 3]);
    await expect(readHistories(lines.slice(0, 1), AS_OF, { strict: true })).resolves.toMatchObject({ transactions: 1 });
  });

  it('reads a byte stream the same as its lines: chunks split anywhere, multi-byte characters, CRLF, overlong lines', async () => {
    const lines = [
      line('a', '2026-01-01', 10, 'tv'),
      line('é', '2026-01-01', 1),
      line('b', '2025-01-01', 3, 'ü'.repeat(65)),
      line('b', '2026-01-01', -1),
    ];
    const text = `${lines.join('\r\n')}\n${'x'.repeat(MAX_LINE_CHARS + 10)}\n${line('c', '2026-01-01', 2, 'ü')}`;
    const bytes = Buffer.from(text);
    const inside = bytes.indexOf(Buffer.from('é')) + 1; // splits a two-byte character
    const cuts = [0, 7, inside, inside + 1, 70_000, bytes.length];
    const chunks = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
    const viaStream = await readHistoriesFromStream(Readable.from(chunks), AS_OF);
    const viaLines = await readHistories(text.split('\n'), AS_OF);
    expect(viaStream).toEqual(viaLines);
    expect(viaStream.transactions).toBe(3);
    expect([...viaStream.customers.get('c')!.products]).toEqual(['ü']);
    expect(viaStream.rejected.map((r) => [r.line, r.errors[0]!.path])).toEqual([
      [2, '/customerId'],
      [3, '/product'],
      [5, '/'],
    ]);
    expect(viaStream.rejected[2]!.errors[0]!.message).toMatch(/longer than/);
  });

  it('refuses add() after result() and a non-finite asOf', () => {
    const reader = new HistoryReader(AS_OF);
    reader.result();
    expect(() => reader.add('{}')).toThrow(/after result/);
    expect(() => new HistoryReader(Number.NaN)).toThrow(RangeError);
  });
});

describe('segmentSizes', () => {
  it('cuts 5/15/50/30 %, rounding towards the better segment; one customer is super', () => {
    expect(segmentSizes(0)).toEqual({ super: 0, top: 0, middle: 0, bottom: 0 });
    expect(segmentSizes(1)).toEqual({ super: 1, top: 0, middle: 0, bottom: 0 });
    expect(segmentSizes(2)).toEqual({ super: 1, top: 0, middle: 1, bottom: 0 });
    expect(segmentSizes(4)).toEqual({ super: 1, top: 0, middle: 2, bottom: 1 });
    expect(segmentSizes(20)).toEqual({ super: 1, top: 3, middle: 10, bottom: 6 });
    expect(segmentSizes(101)).toEqual({ super: 6, top: 15, middle: 50, bottom: 30 });
    expect(segmentSizes(10_000)).toEqual({ super: 500, top: 1500, middle: 5000, bottom: 3000 });
  });

  it('puts rank r in the first segment whose cumulative share exceeds (r − 1)/n (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), (n) => {
        const s = segmentSizes(n);
        expect(s.super + s.top + s.middle + s.bottom).toBe(n);
        const bounds = [s.super, s.super + s.top, s.super + s.top + s.middle, n];
        for (const [k, cumulative] of [0.05, 0.2, 0.7, 1].entries()) {
          const expected = Array.from({ length: n }, (_, r) => r).filter((r) => r / n < cumulative).length;
          expect(bounds[k]).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
