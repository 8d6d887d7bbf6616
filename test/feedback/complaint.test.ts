import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import { RedisContactStore } from '../../src/contacts/redis.js';
import { type ContactState, DAY_MS, EMPTY_CONTACTS } from '../../src/contacts/state.js';
import { type ContactStore, LEARNED_TRIAL } from '../../src/contacts/store.js';
import { MemoryCounters } from '../../src/counters/memory.js';
import { decide } from '../../src/decision/decide.js';
import type { Decision } from '../../src/decision/types.js';
import { MemoryDecisionLog } from '../../src/decision-log/memory.js';
import { FeedbackLoop, Kpis, ResponseService, type StoredResponse } from '../../src/feedback/index.js';
import { priorPropensity } from '../../src/learning/model.js';
import { cellKey, LearningState } from '../../src/learning/state.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { Metrics } from '../../src/ops/metrics.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import type { Profile } from '../../src/profiles/schema.js';
import { connectRedis, type RedisClient, RedisHealth, RedisKeys, whenReady } from '../../src/redis/index.js';
import { RuleSetRegistry } from '../../src/rules/registry.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { testPrefix, testRedis } from '../support/redis.js';
import { shippedRuleSet } from '../support/rules.js';

const log = pino({ level: 'silent' });
const QUIET = 'quiet for 90 days after a complaint';

/** What the customer is shown on a channel at `now` with this contact state (the prior propensities: no draw). */
const decideFor = (
  rs: RuleSet,
  profile: Profile | undefined,
  customerId: string,
  channel: string,
  contacts: ContactState,
  now: number,
) =>
  decide(rs, { request: { customerId, channel }, profile, degraded: false }, priorPropensity, {
    contacts,
    now,
    decisionId: `${customerId}-${channel}-${now}`,
  });

/**
 * A complaint goes through the response service into the contact store, and the shipped policy
 * then shows the customer nothing, on any channel, for 90 days; it teaches a trial and no
 * success, and the reports count it. The same with either contact store.
 */
function complaintScenario(name: string, makeStore: () => Promise<ContactStore>) {
  describe(`a complaint through the response service (${name} contact store)`, () => {
    let rs: RuleSet;
    let store: ContactStore;
    let customers: Profile[];
    beforeAll(async () => {
      rs = await shippedRuleSet();
      store = await makeStore();
      // customers who are shown something on every channel, so a suppression there shows
      customers = generateProfiles({ customers: 3_000, seed: 5 })
        .filter((p) =>
          [...rs.byChannel.keys()].every(
            (channel) => decideFor(rs, p, p.customerId, channel, EMPTY_CONTACTS, Date.now()).decision.offers.length > 0,
          ),
        )
        .slice(0, 3);
      expect(customers).toHaveLength(3);
    });

    async function setup() {
      const decisions = new MemoryDecisionLog(60 * 60_000);
      const rules = new RuleSetRegistry();
      rules.activate(rs);
      const learning = new LearningState();
      const kpis = new Kpis(new MemoryCounters(), new Metrics({ defaultMetrics: false }));
      const loop = new FeedbackLoop({
        learning,
        shared: undefined,
        kpis,
        profiles: new MemoryProfileStore(),
        rules,
        arms: { of: () => 'champion' },
        log,
      });
      const told: StoredResponse[] = [];
      const service = new ResponseService(store, decisions, 100, new Metrics({ defaultMetrics: false }), log, {
        closeWaitMs: 100,
        onStored: (stored) => {
          told.push(...stored);
          loop.stored(stored);
        },
      });
      /** The decision as the service made and logged it, at `at`. */
      const issued = (p: Profile, channel: string, at: number): Decision => {
        const d = decideFor(rs, p, p.customerId, channel, EMPTY_CONTACTS, at).decision;
        decisions.append({
          decision: d,
          at,
          preview: false,
          interactionId: null,
          clv: p.clv,
          churnScore: p.churnScore,
        });
        loop.decided(d);
        return d;
      };
      return { service, told, learning, kpis, issued };
    }

    it('quiets every offer on every channel for 90 days, known customer or not, and names the complaint rule', async () => {
      const { service, issued } = await setup();
      for (const [i, p] of customers.entries()) {
        // the complaint may come from any channel: an email's offer, a call-center pitch, a web tip
        const channel = [...rs.byChannel.keys()][i % rs.byChannel.size]!;
        const at = Date.now();
        const d = issued(p, channel, at);
        const offerId = d.offers[0]!.offerId;
        // a no, then the complaint: the offer's own rest after a reject applies too, yet the complaint rule is named
        const receipt = await service.record(
          (['reject', 'complaint'] as const).map((outcome) => ({
            customerId: p.customerId,
            offerId,
            outcome,
            channel,
            decisionId: d.decisionId,
            eventId: `${outcome}-${i}`,
            at: new Date(at).toISOString(),
          })),
        );
        expect(receipt).toEqual({ accepted: 2, duplicates: 0, buffered: 0 });
        const state = await store.read(p.customerId);
        expect(state.last).toContainEqual({ outcome: 'complaint', channel, offerId, at });
        expect(state.counts.filter((c) => c.outcome === 'complaint')).toEqual([
          expect.objectContaining({ channel, offerId, n: 1 }),
        ]);
        for (const onChannel of rs.byChannel.keys()) {
          for (const profile of [p, undefined]) {
            for (const days of [0, 89.9]) {
              const quiet = decideFor(rs, profile, p.customerId, onChannel, state, at + days * DAY_MS);
              expect(quiet.decision.offers, `${onChannel} after ${days} days`).toEqual([]);
              // every offer considered was held back, and by the complaint rule: the first in the file
              if (profile) expect(quiet.ranked.length).toBeGreaterThan(0);
              expect([...quiet.suppressed.values()]).toEqual(quiet.ranked.map(() => QUIET));
            }
            const later = at + 90.1 * DAY_MS;
            const over = decideFor(rs, profile, p.customerId, onChannel, state, later);
            expect([...over.suppressed.values()]).not.toContain(QUIET);
            expect(over.decision.offers).toEqual(
              decideFor(rs, profile, p.customerId, onChannel, EMPTY_CONTACTS, later).decision.offers,
            );
            if (profile) expect(over.decision.offers.length, onChannel).toBeGreaterThan(0);
          }
        }
      }
    });

    it('counts as a trial and never a success, and the reports tally it per offer', async () => {
      const { service, told, learning, kpis, issued } = await setup();
      const p = customers[0]!;
      const at = Date.now();
      const d = issued(p, 'call-center', at);
      const offerId = d.offers[0]!.offerId;
      const cell = cellKey(offerId, 'call-center', p);
      const event = (outcome: 'complaint' | 'accept', eventId: string) => ({
        customerId: p.customerId,
        offerId,
        outcome,
        channel: 'call-center',
        decisionId: d.decisionId,
        eventId,
        at: undefined,
      });
      await service.record([event('complaint', 'c-1'), event('complaint', 'c-2')]);
      // the complaint proves the presentation; a second one on the same decision × offer teaches nothing more
      expect(told.map((r) => [r.event.eventId, r.learned])).toEqual([
        ['c-1', LEARNED_TRIAL],
        ['c-2', 0],
      ]);
      expect(learning.get(cell)).toEqual({ trials: 1, successes: 0 });
      const row = (await kpis.report()).offers.find((r) => r.offerId === offerId && r.channel === 'call-center')!;
      expect(row.treatment).toMatchObject({ decisions: 1, complaints: 2, accepts: 0, rejects: 0, unattributed: 0 });
      expect(row.control.complaints).toBe(0);
    });
  });
}

complaintScenario('memory', async () => new MemoryContactStore(() => 30));

describe('with Redis', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  const clients: RedisClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });
  complaintScenario('Redis', async () => {
    redis = await testRedis();
    const metrics = new Metrics({ defaultMetrics: false });
    const lane = (name: 'read' | 'write') => {
      const client = connectRedis({ url: redis.url }, { name: `test-${name}`, commandTimeout: 2_000 });
      clients.push(client);
      return { client, health: new RedisHealth(client, name, 2_000, metrics, log) };
    };
    const [read, write] = [lane('read'), lane('write')];
    for (const c of clients) expect(await whenReady(c, 2_000)).toBe(true);
    return new RedisContactStore(write, read, new RedisKeys(testPrefix('complaint')), () => 30);
  });
});
