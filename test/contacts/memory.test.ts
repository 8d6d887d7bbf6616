import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import {
  applySent,
  type ContactState,
  DAY_MS,
  dayOf,
  EMPTY_CONTACTS,
  type OutboundWrite,
  PRUNE_AT_FIELDS,
  type Presented,
  parseContacts,
  RUN_RETENTION_DAYS,
} from '../../src/contacts/state.js';
import { OUTCOMES } from '../../src/contacts/store.js';

/** Contact state as a set of lines, so two states compare whatever their entry order. */
const canonical = (s: ContactState) => ({
  version: s.version,
  counts: s.counts.map((c) => `${c.outcome}|${c.channel}|${c.offerId}|${c.day}|${c.n}`).sort(),
  last: s.last.map((l) => `${l.outcome}|${l.channel}|${l.offerId}|${l.at}`).sort(),
  holds: s.holds.map((h) => `${h.channel}|${h.offerId}|${h.decisionId}|${h.expiresAt}`).sort(),
  journeys: [...s.journeys].sort(),
  runs: [...s.runs].sort(),
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
    outcome: fc.constantFrom(...OUTCOMES),
    advanceMs: fc.integer({ min: 0, max: DAY_MS }),
  }),
  fc.record({
    kind: fc.constant('send' as const),
    runKey: fc.constantFrom('r1', 'r2', 'r3'),
    sent: fc.array(fc.record({ offerId: offer, channel }), { maxLength: 2 }),
    journeys: fc.array(fc.tuple(fc.constantFrom('j1', 'j2|s'), fc.nat()), { maxLength: 2 }),
    dropJourneys: fc.array(fc.constantFrom('j1', 'j2|s'), { maxLength: 1 }),
    advanceMs: fc.integer({ min: 0, max: DAY_MS }),
  }),
);

describe('the memory store carries the parsed contact state across a write', () => {
  it('reads after any mix of decisions, events and outbound sends equal a fresh parse of the fields (and pruning)', async () => {
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
          } else if (s.kind === 'send') {
            const sent = s.sent.map((c) => ({ ...c, decisionId: `d${n++}` }));
            store.send('C1', {
              runKey: s.runKey,
              at: now,
              sent,
              journeys: new Map(s.journeys),
              dropJourneys: s.dropJourneys,
            });
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

describe('an outbound run’s write in memory', () => {
  const at = Date.UTC(2026, 11, 7, 9);
  const write = (runKey: string, extra: Partial<OutboundWrite> = {}): OutboundWrite => ({
    runKey,
    at,
    sent: [{ offerId: 'save-1', channel: 'email', decisionId: 'd1' }],
    journeys: new Map([['anti-churn|entered', at]]),
    dropJourneys: [],
    ...extra,
  });

  it('counts the contacts, sets the journey and run fields, and parses them back', () => {
    const store = new MemoryContactStore(() => 30);
    expect(store.send('C1', write('2026-W50'))).toBe(true);
    const state = store.read('C1');
    expect(state.version).toBe(1);
    expect(state.counts).toEqual(
      expect.arrayContaining([
        { outcome: 'decision', channel: 'email', offerId: 'save-1', day: dayOf(at), n: 1 },
        { outcome: 'impression', channel: 'email', offerId: 'save-1', day: dayOf(at), n: 1 },
      ]),
    );
    expect(state.last).toEqual([{ outcome: 'impression', channel: 'email', offerId: 'save-1', at }]);
    expect([...state.journeys]).toEqual([['anti-churn|entered', at]]);
    expect([...state.runs]).toEqual([['2026-W50', at]]);
    expect(canonical(state)).toEqual(canonical(reparsed(store, 'C1')));
  });

  it('writes once per runKey: the second write changes nothing; another run writes', () => {
    const store = new MemoryContactStore(() => 30);
    expect(store.send('C1', write('2026-W50'))).toBe(true);
    const before = store.read('C1');
    expect(store.send('C1', write('2026-W50', { journeys: new Map([['other', 1]]) }))).toBe(false);
    expect(store.read('C1')).toBe(before);
    expect(before.version).toBe(1);
    const later = at + 7 * DAY_MS;
    expect(
      store.send('C1', write('2026-W51', { at: later, journeys: new Map(), dropJourneys: ['anti-churn|entered'] })),
    ).toBe(true);
    const after = store.read('C1');
    expect(after.version).toBe(2);
    expect(after.journeys.size).toBe(0);
    expect(after.runs).toEqual(
      new Map([
        ['2026-W50', at],
        ['2026-W51', later],
      ]),
    );
    expect(after.last).toEqual([{ outcome: 'impression', channel: 'email', offerId: 'save-1', at: later }]);
  });

  it('a decision’s reservation after a send carries the journey and run fields', () => {
    const store = new MemoryContactStore(() => 30);
    store.send('C1', write('2026-W50'));
    const { version } = store.read('C1');
    expect(
      store.reserve('C1', version, 'd2', [{ offerId: 'a', channel: 'web', decision: true, holdUntil: undefined }], at),
    ).toBe(true);
    const state = store.read('C1');
    expect(state.runs.get('2026-W50')).toBe(at);
    expect(state.journeys.get('anti-churn|entered')).toBe(at);
  });

  it('readMany answers each customer’s state in order', async () => {
    const store = new MemoryContactStore(() => 30);
    store.send('C2', write('2026-W50'));
    const [c1, c2, c3] = await store.readMany(['C1', 'C2', 'C1']);
    expect(c1).toBe(EMPTY_CONTACTS);
    expect(c2?.runs.get('2026-W50')).toBe(at);
    expect(c3).toBe(EMPTY_CONTACTS);
  });

  it('a prune keeps the journey fields and drops run marks past RUN_RETENTION_DAYS', () => {
    const now = at;
    const fields = new Map<string, number>([
      ['o|old', now - (RUN_RETENTION_DAYS + 1) * DAY_MS],
      ['o|recent', now - 300 * DAY_MS],
      ...Array.from({ length: PRUNE_AT_FIELDS }, (_, i) => [`J|j${i}|step`, i] as const),
    ]);
    expect(applySent(fields, write('new'), now, 30)).toBe(true);
    expect(fields.has('p')).toBe(true); // it pruned
    expect(fields.has('o|old')).toBe(false);
    expect(fields.get('o|recent')).toBe(now - 300 * DAY_MS);
    expect(fields.get('o|new')).toBe(at);
    for (let i = 0; i < PRUNE_AT_FIELDS; i++) expect(fields.get(`J|j${i}|step`)).toBe(i);
  });

  it('counts nothing for a send past retention, but keeps its latest time and run mark', () => {
    const fields = new Map<string, number>();
    const old = at - 40 * DAY_MS;
    expect(applySent(fields, write('old', { at: old }), at, 30)).toBe(true);
    expect(Object.fromEntries(fields)).toEqual({
      'J|anti-churn|entered': at,
      'o|old': old,
      't|impression|email|save-1': old,
      v: 1,
    });
  });

  it('the empty state’s maps cannot be filled', () => {
    expect(EMPTY_CONTACTS.journeys.size + EMPTY_CONTACTS.runs.size).toBe(0);
    expect(() => (EMPTY_CONTACTS.runs as Map<string, number>).set('x', 1)).toThrow(TypeError);
    expect(parseContacts(new Map())).toBe(EMPTY_CONTACTS);
    expect(parseContacts(new Map([['o|r', 1]]))).not.toBe(EMPTY_CONTACTS);
  });
});

describe('parsing contact-state fields', () => {
  /** The fields' reading as split('|') gives it: the parser finds the parts by position instead. */
  function bySplit(fields: readonly (readonly [string, number])[]) {
    const counts: unknown[] = [];
    const last: unknown[] = [];
    const holds: unknown[] = [];
    const interactions: unknown[] = [];
    for (const [field, value] of fields) {
      if (!Number.isFinite(value) || field === 'v' || field.startsWith('J|') || field.startsWith('o|')) continue;
      const p = field.split('|');
      if (p[0] === 'n' && p.length === 5)
        counts.push({ outcome: p[1], channel: p[2], offerId: p[3], day: Number(p[4]), n: value });
      else if (p[0] === 't' && p.length === 4) last.push({ outcome: p[1], channel: p[2], offerId: p[3], at: value });
      else if (p[0] === 'h' && p.length === 4)
        holds.push({ channel: p[1], offerId: p[2], decisionId: p[3], expiresAt: value });
      else if (p[0] === 'i' && p.length === 4)
        interactions.push({ channel: p[1], interactionId: p[2], decisionId: p[3], expiresAt: value });
    }
    return { counts, last, holds, interactions };
  }

  it('reads every field as split would, malformed ones ignored alike', () => {
    // names made of the kinds' letters, bars and a little else: every shape of field, well formed or not
    const name = fc.string({ unit: fc.constantFrom('n', 't', 'h', 'i', 'x', '|', '|', 'a', '7', ''), maxLength: 14 });
    const field = fc.oneof(
      name,
      fc.tuple(fc.constantFrom('n|', 't|', 'h|', 'i|', 'nn|', '|'), name).map(([k, rest]) => k + rest),
    );
    const value = fc.oneof(fc.integer(), fc.constantFrom(Number.NaN, 1.7e12, 0.5));
    fc.assert(
      fc.property(fc.array(fc.tuple(field, value), { maxLength: 12 }), (fields) => {
        const parsed = parseContacts(fields);
        const expected = bySplit(fields);
        expect({
          counts: parsed.counts,
          last: parsed.last,
          holds: parsed.holds,
          interactions: parsed.interactions,
        }).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });
});
