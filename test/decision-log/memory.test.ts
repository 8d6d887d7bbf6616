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
    expect(found.get('d-2')).toMatchObject({ preview: true, interactionId: 'call-1', arm: 'control', degraded: true });
    expect(found.get('d-1')!.profile).toEqual({
      found: false,
      valueSegment: null,
      lifecyclePhase: null,
      clv: null,
      churnScore: null,
    });
    expect(Date.parse(found.get('d-1')!.at)).toBeGreaterThan(Date.now() - 60_000);
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
