import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, mostBytes, Reader, Vocabulary, Words } from '../../src/decision-log/record-codec.js';
import { type DecisionEntry, recordLine, toRecord } from '../../src/decision-log/store.js';

const text = fc.oneof(
  fc.constantFrom('C0000042', 'call-center', '2026.11.0+8a379543', 'a b'),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e21, 1e-7, 0.1 + 0.2));
const entry: fc.Arbitrary<DecisionEntry> = fc.record({
  decision: fc.record({
    decisionId: text,
    customerId: text,
    channel: text,
    rulesetVersion: text,
    profile: fc.record({ found: fc.boolean(), valueSegment: fc.option(text), lifecyclePhase: fc.option(text) }),
    offers: fc.array(
      fc.record({
        rank: fc.integer({ min: 1, max: 20 }),
        offerId: text,
        group: text,
        score: number,
        propensity: number,
      }),
      { maxLength: 5 },
    ),
    arm: fc.constantFrom('control', 'champion', 'challenger'),
    degraded: fc.boolean(),
  }),
  at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  preview: fc.boolean(),
  interactionId: fc.option(text),
  clv: fc.option(number),
  churnScore: fc.option(number),
});

describe('the decision-log record', () => {
  it('is written line by line exactly as JSON.stringify writes it', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const line = recordLine(e);
        expect(line).toBe(JSON.stringify(toRecord(e)));
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(toRecord(e))));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('decision entries as bytes, for the file log writer', () => {
  /** Encodes `entries` as the service does, one message's worth. */
  function sent(entries: readonly DecisionEntry[]) {
    const vocabulary = new Vocabulary();
    const buf = Buffer.alloc(entries.reduce((n, e) => n + mostBytes(e), 0));
    let end = 0;
    for (const e of entries) end = encode(e, vocabulary, buf, end);
    const words = new Words();
    words.add(vocabulary.take());
    return { bytes: buf.subarray(0, end), words };
  }

  it('are read back as the same records, and written as the same lines without the entries', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 600 }),
        (entries, room) => {
          const { bytes, words } = sent(entries);
          const asEntries = new Reader(bytes, words);
          const asLines = new Reader(bytes, words);
          for (const e of entries) {
            const iso = new Date(e.at).toISOString();
            // an output of `room` bytes: a line that does not fit is refused whole, the reader stays
            const small = Buffer.alloc(room);
            const tried = asLines.line(small, 0, iso);
            const out = Buffer.alloc(8 * recordLine(e).length + 64);
            const end = tried === -1 ? asLines.line(out, 0, iso) : tried;
            const written = (tried === -1 ? out : small).toString('utf8', 0, end);
            expect(written).toBe(`${recordLine(e)}\n`);
            expect(recordLine(asEntries.entry())).toBe(recordLine(e));
          }
          expect(asLines.done && asEntries.done).toBe(true);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('send each word once, and all of them again for a reader that knows none', () => {
    const vocabulary = new Vocabulary();
    const ids = ['web', 'champion', 'web', 'save'].map((w) => vocabulary.id(w));
    expect(ids).toEqual([0, 1, 0, 2]);
    expect(vocabulary.take()).toEqual(['web', 'champion', 'save']);
    expect(vocabulary.take()).toEqual([]);
    vocabulary.resend();
    expect(vocabulary.take()).toEqual(['web', 'champion', 'save']);
  });
});
