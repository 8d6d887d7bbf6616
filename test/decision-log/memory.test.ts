import { describe, expect, it, vi } from 'vitest';
import { MEMORY_DECISIONS, MemoryDecisionLog } from '../../src/decision-log/memory.js';
import type { DecisionEntry } from '../../src/decision-log/store.js';

const entry = (n: number, customerId = `C${n}`, preview = false): DecisionEntry => ({
  decision: {
    decisionId: `d-${n}`,
    customerId,
    channel: 'call-center',
    rulesetVersion: 'v1+abc',
    profile: { found: false, valueSegment: null, lifecyclePhase: null },
    offers: [{ rank: 1, offerId: 'o-1', group: 'service', score: 0.1, propensity: 0.05 }],
    arm: 'control',
    degraded: true,
  },
  at: Date.now(),
  preview,
  interactionId: 'call-1',
  clv: null,
  churnScore: null,
});

describe('the memory decision log', () => {
  it('finds a customer’s own decisions as records, previews included, and no one else’s', async () => {
    const log = new MemoryDecisionLog(60_000);
    log.append(entry(1));
    log.append(entry(2, 'C1', true));
    log.append(entry(3, 'C3'));
    const found = await log.find('C1', ['d-1', 'd-2', 'd-3', 'd-404']);
    expect([...found.keys()]).toEqual(['d-1', 'd-2']);
    expect(found.get('d-2')).toEqual({
      decisionId: 'd-2',
      customerId: 'C1',
      channel: 'call-center',
      arm: 'control',
      preview: true,
      profile: { valueSegment: null, lifecyclePhase: null },
      offers: [{ offerId: 'o-1' }],
    });
    expect(found.get('d-1')!.preview).toBe(false);
  });

  it('remembers what a response needs as it was decided: segment, phase, offers, arm', async () => {
    const log = new MemoryDecisionLog(60_000);
    const e = entry(5);
    log.append({
      ...e,
      decision: {
        ...e.decision,
        arm: 'challenger',
        profile: { found: true, valueSegment: 'super', lifecyclePhase: 'retain' },
        offers: ['a-1', 'b-2', 'c-3'].map((offerId, i) => ({
          rank: i + 1,
          offerId,
          group: 'save',
          score: 1,
          propensity: 0.1,
        })),
      },
    });
    expect((await log.find('C5', ['d-5'])).get('d-5')).toMatchObject({
      arm: 'challenger',
      profile: { valueSegment: 'super', lifecyclePhase: 'retain' },
      offers: [{ offerId: 'a-1' }, { offerId: 'b-2' }, { offerId: 'c-3' }],
    });
  });

  it('forgets decisions older than the response window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const log = new MemoryDecisionLog(60_000);
      log.append(entry(1));
      vi.setSystemTime(Date.now() + 59_000);
      expect((await log.find('C1', ['d-1'])).size).toBe(1);
      vi.setSystemTime(Date.now() + 2_000);
      expect((await log.find('C1', ['d-1'])).size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it(`holds at least ${MEMORY_DECISIONS} decisions and at most twice that`, async () => {
    const log = new MemoryDecisionLog(60_000);
    for (let i = 0; i < 2 * MEMORY_DECISIONS + 1; i++) log.append(entry(i, 'C'));
    expect((await log.find('C', ['d-0'])).size).toBe(0);
    expect((await log.find('C', [`d-${MEMORY_DECISIONS + 1}`])).size).toBe(1);
  });
});
