import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { priorPropensity } from '../../src/decision/propensity.js';
import { MemoryResponseStore } from '../../src/feedback/store.js';
import { DecisionService } from '../../src/decision/service.js';
import { Metrics } from '../../src/ops/metrics.js';
import { CachedProfileStore } from '../../src/profiles/cache.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import { Profile } from '../../src/profiles/schema.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { RuleSetRegistry } from '../../src/rules/registry.js';
import { shippedRuleSet } from '../support/rules.js';

const service = async (store: ProfileStore) => {
  const rules = new RuleSetRegistry();
  rules.activate(await shippedRuleSet());
  return new DecisionService(rules, store, new MemoryResponseStore(), priorPropensity, new Metrics({ defaultMetrics: false }), pino({ level: 'silent' }));
};

describe('decision service', () => {
  it('answers with fallback offers and degraded: true when the store fails', async () => {
    const failing: ProfileStore = {
      kind: 'failing',
      get: async () => { throw new Error('store down'); },
      put: async () => {}, putMany: async () => {}, size: async () => 0,
    };
    const d = await (await service(failing)).decide({ customerId: 'C0000001', channel: 'web' });
    expect(d.degraded).toBe(true);
    expect(d.profile.found).toBe(false);
    expect(d.offers.length).toBeGreaterThan(0);
  });

  it('sees a profile written after the customer was looked up as unknown', async () => {
    const store = new CachedProfileStore(new MemoryProfileStore(), { max: 100, ttlMs: 60_000 });
    const s = await service(store);
    expect((await s.decide({ customerId: 'late-1', channel: 'web' })).profile.found).toBe(false);
    await store.put(Profile.parse({ customerId: 'late-1', valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 100, churnScore: 0.1 }));
    expect((await s.decide({ customerId: 'late-1', channel: 'web' })).profile.found).toBe(true);
  });

  it('refuses a channel the rule set does not declare', async () => {
    const s = await service(new MemoryProfileStore());
    await expect(s.decide({ customerId: 'x', channel: 'sms' })).rejects.toMatchObject({ code: 'unknown_channel' });
  });
});
