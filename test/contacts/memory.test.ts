import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import { type ContactState, DAY_MS, type Presented, parseContacts } from '../../src/contacts/state.js';

/** Contact state as a set of lines, so two states compare whatever their entry order. */
const canonical = (s: ContactState) => ({
  version: s.version,
  counts: s.counts.map((c) => `${c.outcome}|${c.channel}|${c.offerId}|${c.day}|${c.n}`).sort(),
  last: s.last.map((l) => `${l.outcome}|${l.channel}|${l.offerId}|${l.at}`).sort(),
  holds: s.holds.map((h) => `${h.channel}|${h.offerId}|${h.decisionId}|${h.expiresAt}`).sort(),
});

/** The store's fields, read back by the parser: what a fresh read (or Redis) would see. */
const reparsed = (store: MemoryContactStore, customerId: string) => {
  const fields = (
    store as unknown as { customers: { get(id: string): { fields: Map<string, number> } | undefined } }
  ).customers.get(customerId)?.fields;
  return parseContacts(fields ?? new Map());
};

const offer = fc.constantFrom('a', 'b', 'c');
const channel = fc.constantFrom('web', 'call-center');
const step = fc.oneof(
  fc.record({
    kind: fc.constant('present' as const),
    presented: fc.array(fc.record({ offerId: offer, channel, decision: fc.boolean(), hold: fc.boolean() }), {
      maxLength: 4,
    }),
    advanceMs: fc.integer({ min: 0, max: 3 * DAY_MS }),
  }),
  fc.record({
    kind: fc.constant('event' as const),
    offerId: offer,
    channel,
    outcome: fc.constantFrom('impression', 'click', 'accept', 'reject'),
    advanceMs: fc.integer({ min: 0, max: DAY_MS }),
  }),
);

describe('the memory store carries the parsed contact state across a decision’s write', () => {
  it('reads after any mix of decisions and events equal a fresh parse of the fields (and pruning)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const store = new MemoryContactStore(() => 7);
        let now = Date.UTC(2026, 10, 1);
        let n = 0;
        for (const s of steps) {
          now += s.advanceMs;
          if (s.kind === 'present') {
            const presented: Presented[] = s.presented.map((p) => ({
              offerId: p.offerId,
              channel: p.channel,
              decision: p.decision,
              holdUntil: p.hold ? now + 30 * 60_000 : undefined,
            }));
            // read first, as a decision does: the parsed form is then there to carry over
            const { version } = store.read('C1');
            expect(store.reserve('C1', version, `d${n++}`, presented, now)).toBe(true);
          } else {
            await store.record([
              {
                eventId: `e${n++}`,
                customerId: 'C1',
                offerId: s.offerId,
                channel: s.channel,
                outcome: s.outcome,
                at: now,
                decisionId: undefined,
              },
            ]);
          }
          expect(canonical(store.read('C1'))).toEqual(canonical(reparsed(store, 'C1')));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a write against an old version is refused and changes nothing', () => {
    const store = new MemoryContactStore();
    const now = Date.UTC(2026, 10, 1);
    const hold: Presented = { offerId: 'a', channel: 'web', decision: true, holdUntil: now + 1_000 };
    expect(store.reserve('C1', 0, 'd1', [hold], now)).toBe(true);
    const after = canonical(store.read('C1'));
    expect(store.reserve('C1', 0, 'd2', [hold], now)).toBe(false);
    expect(canonical(store.read('C1'))).toEqual(after);
    expect(after.version).toBe(1);
    expect(after.holds).toHaveLength(1);
  });
});
