import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentDecisions } from '../../src/decision-log/recent.js';
import type { DecisionEntry } from '../../src/decision-log/store.js';
import { newId } from '../../src/math/ids.js';

const entry = (decisionId: string, customerId: string, at: number, respondUntil?: number): DecisionEntry => ({
  decision: {
    decisionId,
    customerId,
    channel: 'web',
    rulesetVersion: 'v1',
    profile: { found: true, valueSegment: 'gold', lifecyclePhase: 'grow' },
    offers: [{ rank: 1, offerId: `o${at % 3}`, group: 'g', score: 1, propensity: 0.1 }],
    arm: 'champion',
    degraded: false,
  },
  at,
  preview: false,
  interactionId: null,
  clv: null,
  churnScore: null,
  ...(respondUntil === undefined ? {} : { respondUntil }),
});

/** The same ring, kept in a plain array and found by scanning it. */
class Model {
  private readonly slots: (DecisionEntry | undefined)[];
  private next = 0;
  constructor(size: number) {
    this.slots = new Array(2 * size).fill(undefined);
  }
  remember(e: DecisionEntry): void {
    const known = this.slots.findIndex((s) => s?.decision.decisionId === e.decision.decisionId);
    if (known >= 0) this.slots[known] = undefined;
    this.slots[this.next] = e;
    this.next = (this.next + 1) % this.slots.length;
  }
  get(id: string): DecisionEntry | undefined {
    return this.slots.find((s) => s?.decision.decisionId === id);
  }
}

describe('RecentDecisions', () => {
  it('finds each of the last 2 × size decisions by ID, and none before them', () => {
    const recent = new RecentDecisions(1_000);
    const ids = Array.from({ length: 5_000 }, () => newId());
    for (const [i, id] of ids.entries()) recent.remember(entry(id, `C${i}`, i));
    expect(recent.size).toBe(2_000);
    for (const [i, id] of ids.entries()) {
      const r = recent.get(id);
      if (i < 3_000) expect(r).toBeUndefined();
      else expect(r).toMatchObject({ customerId: `C${i}`, at: i, until: undefined });
    }
  });

  it('keeps what a response needs: the customer, the time, until when, and the shape', () => {
    const recent = new RecentDecisions(10);
    const id = newId();
    recent.remember(entry(id, 'C0000042', 1_000, 99_000));
    const r = recent.get(id)!;
    expect(r).toMatchObject({ customerId: 'C0000042', at: 1_000, until: 99_000 });
    expect(r.shape).toMatchObject({ channel: 'web', arm: 'champion', valueSegment: 'gold', offerIds: ['o1'] });
  });

  it('finds an ID only as it was written: other case, other length or no dashes are other IDs', () => {
    const recent = new RecentDecisions(10);
    const id = newId();
    recent.remember(entry(id, 'C1', 1));
    expect(recent.get(id.toUpperCase())).toBeUndefined();
    expect(recent.get(id.replaceAll('-', ''))).toBeUndefined();
    expect(recent.get(`${id}0`)).toBeUndefined();
    recent.remember(entry('outbound-7', 'C2', 2));
    expect(recent.get('outbound-7')).toMatchObject({ customerId: 'C2' });
  });

  it('answers as a plain ring would, through collisions, wrap-around, repeats and other IDs', () => {
    const uuids = Array.from({ length: 24 }, () => newId());
    const others = ['a', 'call-1', 'ABCDEF01-0000-4000-8000-000000000000', 'x'.repeat(36)];
    const pool = [...uuids, ...others];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ remember: fc.boolean(), id: fc.nat({ max: pool.length - 1 }) }), { maxLength: 200 }),
        (size, steps) => {
          // a table of a few positions: most IDs collide
          const recent = new RecentDecisions(size);
          const model = new Model(size);
          steps.forEach(({ remember, id }, at) => {
            if (remember) {
              const e = entry(pool[id]!, `C${at}`, at);
              recent.remember(e);
              model.remember(e);
            }
            for (const candidate of pool) {
              const want = model.get(candidate);
              const got = recent.get(candidate);
              if (want === undefined) expect(got).toBeUndefined();
              else expect(got).toMatchObject({ customerId: want.decision.customerId, at: want.at });
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
