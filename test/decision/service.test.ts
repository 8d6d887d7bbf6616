import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import { DecisionService } from '../../src/decision/service.js';
import { MemoryDecisionLog } from '../../src/decision-log/memory.js';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/index.js';
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
  return new DecisionService(
    rules,
    store,
    new MemoryContactStore(),
    priorPropensity,
    new Metrics({ defaultMetrics: false }),
    pino({ level: 'silent' }),
    { decisionLog: new MemoryDecisionLog(60_000) },
  );
};

describe('decision service', () => {
  it('answers with fallback offers and degraded: true when the store fails', async () => {
    const failing: ProfileStore = {
      kind: 'failing',
      get: async () => {
        throw new Error('store down');
      },
      put: async () => {},
      putMany: async () => {},
      size: async () => 0,
      scan: async function* () {},
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
    await store.put(
      Profile.parse({
        customerId: 'late-1',
        valueSegment: 'top',
        lifecyclePhase: 'loyalty',
        clv: 100,
        churnScore: 0.1,
      }),
    );
    expect((await s.decide({ customerId: 'late-1', channel: 'web' })).profile.found).toBe(true);
  });

  it('refuses a channel the rule set does not declare', async () => {
    const s = await service(new MemoryProfileStore());
    await expect(s.decide({ customerId: 'x', channel: 'kiosk' })).rejects.toMatchObject({
      code: 'unknown_channel',
      detail: 'channel "kiosk" is not one of: web, call-center, email, sms, direct-mail, outbound-call',
    });
  });

  it('decides an outbound channel too: the moment an email is sent or an agent dials', async () => {
    const profiles = new MemoryProfileStore();
    const customer = generateProfiles({ customers: 200, seed: 7 }).find(
      (p) => p.lifecyclePhase === 'loyalty' && p.consents.includes('email'),
    )!;
    await profiles.put(customer);
    const s = await service(profiles);
    const decision = await s.decide({ customerId: customer.customerId, channel: 'email' });
    expect(decision.channel).toBe('email');
    for (const o of decision.offers) expect(Object.keys(o.treatment)).toContain('subject');
  });
});

/** The memory store whose reservations can be made to lose every race, or to fail, counting each call. */
class RacingContacts extends MemoryContactStore {
  mode: 'ok' | 'lose' | 'fail' = 'ok';
  presents = 0;
  override reserve(...args: Parameters<MemoryContactStore['reserve']>): boolean {
    this.presents++;
    if (this.mode === 'fail') throw new Error('reservation timed out');
    return this.mode === 'lose' ? false : super.reserve(...args);
  }
}

describe('decision service: reserving what a decision presents', () => {
  const loyal = Profile.parse({
    customerId: 'R-1',
    valueSegment: 'middle',
    lifecyclePhase: 'loyalty',
    clv: 900,
    churnScore: 0.1,
    consents: ['web'],
    productsHeld: ['mobile'],
  });
  const setup = async () => {
    const rules = new RuleSetRegistry();
    rules.activate(await shippedRuleSet());
    const profiles = new MemoryProfileStore();
    await profiles.put(loyal);
    const contacts = new RacingContacts();
    const s = new DecisionService(
      rules,
      profiles,
      contacts,
      priorPropensity,
      new Metrics({ defaultMetrics: false }),
      pino({ level: 'silent' }),
      { decisionLog: new MemoryDecisionLog(60_000) },
    );
    return { s, contacts };
  };

  it('when reservations keep losing, holds capped offers back on the state it read, keeping what it knows', async () => {
    const { s, contacts } = await setup();
    const first = await s.decide({ customerId: 'R-1', channel: 'web', limit: 4 });
    expect(first.offers.length).toBeGreaterThan(1);
    const [rejected, ...others] = first.offers.map((o) => o.offerId);
    await contacts.record([
      {
        eventId: 'r1',
        customerId: 'R-1',
        offerId: rejected!,
        outcome: 'reject',
        channel: 'web',
        decisionId: first.decisionId,
        at: Date.now(),
      },
    ]);
    contacts.mode = 'lose';
    contacts.presents = 0;
    const d = await s.decide({ customerId: 'R-1', channel: 'web', limit: 4, explain: false });
    expect(contacts.presents).toBe(3); // the first try and two retries, then it gives up
    expect(d.degraded).toBe(true);
    // every shipped web offer is counted by the web cap: none may be shown unreserved; the reject still holds
    expect(d.offers).toEqual([]);
    const explained = await s.decide({ customerId: 'R-1', channel: 'web', limit: 4, explain: true });
    expect(explained.explanation!.find((e) => e.offerId === rejected)!.suppressedBy).toBe(
      "30 days' rest after a reject",
    );
    expect(others.length).toBeGreaterThan(0);
  });

  it('when a reservation fails outright, it does not retry and holds capped offers back', async () => {
    const { s, contacts } = await setup();
    contacts.mode = 'fail';
    const d = await s.decide({ customerId: 'R-1', channel: 'web' });
    expect(contacts.presents).toBe(1);
    expect(d).toMatchObject({ degraded: true, offers: [] });
    contacts.mode = 'ok';
    const ok = await s.decide({ customerId: 'R-1', channel: 'web' });
    expect(ok.degraded).toBe(false);
    expect(ok.offers.length).toBeGreaterThan(0);
  });
});
