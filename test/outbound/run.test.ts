import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContactStore } from '../../src/contacts/memory.js';
import { RedisContactStore } from '../../src/contacts/redis.js';
import type { ContactState } from '../../src/contacts/state.js';
import type { ContactStore, ResponseEvent } from '../../src/contacts/store.js';
import { armOf } from '../../src/decision/arms.js';
import { decide } from '../../src/decision/decide.js';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { Metrics } from '../../src/ops/metrics.js';
import { outboundDecisionId } from '../../src/outbound/customer.js';
import { journeyMoves } from '../../src/outbound/journeys.js';
import { FolderRecords, RedisRecords, type RunRecord, type RunRecords } from '../../src/outbound/records.js';
import { runWeek } from '../../src/outbound/run.js';
import { parseWeek, type Week, weekAt } from '../../src/outbound/week.js';
import { MemoryProfileStore } from '../../src/profiles/memory.js';
import { RedisProfileStore } from '../../src/profiles/redis.js';
import type { Profile } from '../../src/profiles/schema.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { connectRedis, type RedisClient, RedisHealth, RedisKeys, whenReady } from '../../src/redis/index.js';
import type { RuleSet } from '../../src/rules/index.js';
import { type ContactRow, OUTBOUND_CHANNELS, type RunOutput, readRun, sortedLines } from '../support/outbound.js';
import { testPrefix, testRedis } from '../support/redis.js';
import { rulesCopy, shippedRuleSet } from '../support/rules.js';

// runWeek with the shipped rules over a generated population, in memory and in a real Redis.
const CUSTOMERS = 3_000;
const SEED = 11;
const W0 = parseWeek('2026-W40')!;
const wk = (k: number): Week => weekAt(W0.index + k);
const DAY = 86_400_000;

let rs: RuleSet;
let population: Profile[];
let redis: Awaited<ReturnType<typeof testRedis>>;
let tmp: string;
const clients: RedisClient[] = [];
const log = pino({ level: 'silent' });

beforeAll(async () => {
  [rs, redis, tmp] = await Promise.all([
    shippedRuleSet(),
    testRedis(),
    mkdtemp(join(tmpdir(), 'nextbest-outbound-run-')),
  ]);
  population = generateProfiles({ customers: CUSTOMERS, seed: SEED });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let dirs = 0;
const newDir = () => join(tmp, `run-${++dirs}`);

/** The stores a run works on, and a look at the contact state it leaves. */
interface Harness {
  readonly kind: 'memory' | 'redis';
  readonly profiles: ProfileStore;
  readonly contacts: ContactStore;
  /** where a run into `dir` keeps its record: the folder (memory), or Redis */
  records(dir: string): RunRecords;
  /** every customer's contact-state fields, sorted */
  snapshot(): Promise<Map<string, string>>;
  state(customerId: string): Promise<ContactState>;
}

const fieldsText = (fields: Iterable<readonly [string, string | number]>) =>
  JSON.stringify([...fields].map(([k, v]) => [k, Number(v)]).sort(([a], [b]) => (a! < b! ? -1 : 1)));

/** A contact state as text: its fields in a fixed order, whatever order they were written in. */
const stateText = (s: ContactState) =>
  JSON.stringify({
    version: s.version,
    counts: s.counts.map((c) => JSON.stringify(c)).sort(),
    last: s.last.map((l) => JSON.stringify(l)).sort(),
    holds: s.holds.map((h) => JSON.stringify(h)).sort(),
    interactions: s.interactions.map((i) => JSON.stringify(i)).sort(),
    journeys: [...s.journeys].sort(),
    runs: [...s.runs].sort(),
  });

async function memoryHarness(profiles: readonly Profile[] = population): Promise<Harness> {
  const store = new MemoryProfileStore();
  await store.putMany(profiles);
  const contacts = new MemoryContactStore(() => 400, CUSTOMERS + 1_000);
  const ids = profiles.map((p) => p.customerId);
  return {
    kind: 'memory',
    profiles: store,
    contacts,
    records: (dir) => new FolderRecords(() => dir),
    snapshot: async () => {
      const states = await contacts.readMany(ids);
      return new Map(ids.map((id, i) => [id, stateText(states[i]!)]));
    },
    state: async (id) => contacts.read(id),
  };
}

async function redisHarness(profiles: readonly Profile[] = population): Promise<Harness> {
  const prefix = testPrefix('outbound');
  const keys = new RedisKeys(prefix);
  const metrics = new Metrics({ defaultMetrics: false });
  const client = connectRedis({ url: redis.url }, { name: 'test-outbound', commandTimeout: 10_000 });
  clients.push(client);
  expect(await whenReady(client, 5_000)).toBe(true);
  const lane = { client, health: new RedisHealth(client, 'write', 10_000, metrics, log) };
  const store = new RedisProfileStore(lane, lane, keys, metrics);
  await store.putMany(profiles);
  const contacts = new RedisContactStore(lane, lane, keys, () => 400);
  const records = new RedisRecords(client, (w) => keys.outboundRun(w));
  const r = redis.client();
  clients.push(r as unknown as RedisClient);
  return {
    kind: 'redis',
    profiles: store,
    contacts,
    records: () => records,
    snapshot: async () => {
      const out = new Map<string, string>();
      const stream = r.scanStream({ match: `${prefix}{*}:contacts`, count: 1_000 });
      const found: string[] = [];
      for await (const batch of stream) found.push(...(batch as string[]));
      const p = r.pipeline();
      for (const k of found) p.hgetall(k);
      const res = (await p.exec()) ?? [];
      found.forEach((k, i) => {
        out.set(k.slice(prefix.length + 1, k.indexOf('}:contacts')), fieldsText(Object.entries(res[i]![1] as object)));
      });
      return out;
    },
    state: async (id) => (await contacts.readMany([id]))[0]!,
  };
}

const harness = (kind: 'memory' | 'redis', profiles?: readonly Profile[]) =>
  kind === 'memory' ? memoryHarness(profiles) : redisHarness(profiles);

interface Ran {
  readonly week: Week;
  readonly dir: string;
  readonly record: RunRecord;
  readonly out: RunOutput;
}

async function runAt(
  h: Harness,
  week: Week,
  options: {
    dir?: string;
    capacity?: Record<string, number>;
    ruleset?: RuleSet;
    records?: RunRecords;
    contacts?: Pick<ContactStore, 'readMany' | 'send'>;
    batchSize?: number;
  } = {},
): Promise<Ran> {
  const dir = options.dir ?? newDir();
  const record = await runWeek(
    { profiles: h.profiles, contacts: options.contacts ?? h.contacts },
    {
      week,
      ruleset: options.ruleset ?? rs,
      model: priorPropensity,
      dir,
      records: options.records ?? h.records(dir),
      capacity: options.capacity,
      batchSize: options.batchSize,
    },
  );
  return { week, dir, record, out: await readRun(dir) };
}

const event = (
  customerId: string,
  outcome: ResponseEvent['outcome'],
  channel: string,
  offerId: string,
  at: number,
): ResponseEvent => ({
  eventId: `${customerId}:${outcome}:${channel}:${offerId}:${at}`,
  customerId,
  offerId,
  outcome,
  channel,
  decisionId: undefined,
  at,
});

const groupOf = (offerId: string) => rs.offers.find((o) => o.id === offerId)!.group;
const consentOf = (channel: string) => rs.outbound.channels.get(channel)!.consent;
const HELD_OUT_GROUPS = (): ReadonlySet<string> => new Set<string>(rs.manifest.controlGroup!.groups);

/** The checks every run's output must pass, whatever came before it. */
function expectSound(ran: Ran, profiles: ReadonlyMap<string, Profile>): void {
  const { record, out, week } = ran;
  const what = `${week.key}`;
  expect(record.status, what).toBe('done');
  expect(record.error, what).toBeNull();
  // the header every list starts with
  for (const ch of OUTBOUND_CHANNELS) {
    expect(out.header[ch]!.slice(0, 4), what).toEqual(['customerId', 'offerId', 'decisionId', 'sendDate']);
    expect(out.header[ch]!.slice(-2), what).toEqual(['journey', 'step']);
    expect(out.rows[ch]!.length, `${what} ${ch}: counts are the list's lines`).toBe(record.counts[ch]);
  }
  // capacity: the run's (or the manifest's) never exceeded, the allocation near the best possible
  const allocation = record.allocation!;
  expect(allocation.gap, what).toBeLessThanOrEqual(0.01);
  expect(allocation.gap, what).toBeGreaterThanOrEqual(0);
  expect(allocation.total, what).toBeLessThanOrEqual(allocation.bound + 1e-6);
  for (const ch of OUTBOUND_CHANNELS) {
    const cap = record.capacity[ch] ?? rs.outbound.channels.get(ch)!.capacity;
    if (cap !== undefined) expect(record.counts[ch], `${what} ${ch}`).toBeLessThanOrEqual(cap);
  }
  const perCustomer = new Map<string, number>();
  const decisions = new Map(out.decisions.map((d) => [d.decisionId, d]));
  for (const c of out.contacts) {
    perCustomer.set(c.customerId, (perCustomer.get(c.customerId) ?? 0) + 1);
    expect(c.sendDate, what).toBe(week.sendDate);
    // the contact's decision: logged, the run's own ID, with the offer the list names
    expect(c.decisionId).toBe(outboundDecisionId(week, c.customerId, c.channel));
    const d = decisions.get(c.decisionId);
    expect(d, `${what}: ${c.customerId} ${c.channel} in decisions.ndjson`).toBeDefined();
    expect(d!.offers.map((o) => o.offerId)).toEqual([c.offerId]);
    expect(d!.channel).toBe(c.channel);
    expect(d!.interactionId).toBe(`outbound-${week.key}`);
    // consent: none on a channel whose consent the customer lacks
    const consent = consentOf(c.channel);
    const p = profiles.get(c.customerId)!;
    if (consent !== undefined) expect(p.consents, `${what}: ${c.customerId} on ${c.channel}`).toContain(consent);
    // the control group gets nothing of the groups held out from it
    if (armOf(c.customerId, rs) === 'control') expect(HELD_OUT_GROUPS().has(groupOf(c.offerId)), c.offerId).toBe(false);
  }
  for (const [id, n] of perCustomer)
    expect(n, `${what}: contacts of ${id}`).toBeLessThanOrEqual(rs.outbound.maxContactsPerRun);
  // each customer × channel decided at most once a week
  const keys = out.decisions.map((d) => `${d.customerId}|${d.channel}`);
  expect(new Set(keys).size, what).toBe(keys.length);
  // the arms: control customers logged as control, every other as champion; what the record counts
  let heldOut = 0;
  let unsent = 0;
  let sent = 0;
  for (const d of out.decisions) {
    expect(d.arm, `${what}: ${d.customerId}`).toBe(armOf(d.customerId, rs));
    expect(d.at).toBe(new Date(week.start).toISOString());
    if (d.offers.length > 0) sent++;
    else if (d.arm === 'control') heldOut++;
    else unsent++;
  }
  expect(sent, what).toBe(out.contacts.length);
  expect(record.heldOut, what).toBe(heldOut);
  expect(record.unsent, what).toBe(unsent);
}

describe.each(['memory', 'redis'] as const)('runWeek with %s stores', (kind) => {
  describe('a run is idempotent and deterministic', () => {
    let h: Harness;
    let first: Ran;
    let before: Map<string, string>;
    beforeAll(async () => {
      h = await harness(kind);
      await runAt(h, wk(0));
      await runAt(h, wk(1));
      // week 2: calls, texts and held-out waves; a tight call capacity, so the allocation chooses
      first = await runAt(h, wk(2), { capacity: { 'outbound-call': 50 } });
      before = await h.snapshot();
    });

    it('the week run again returns its record and changes no file and no contact state', async () => {
      expect(first.record.counts['outbound-call']).toBe(50);
      expect(first.record.heldOut).toBeGreaterThan(0);
      expect(first.record.counts.sms).toBeGreaterThan(0);
      const again = await runAt(h, wk(2), { dir: first.dir, capacity: { 'outbound-call': 50 } });
      expect(again.record).toEqual(first.record);
      expect(again.out.raw).toEqual(first.out.raw);
      expect(await h.snapshot()).toEqual(before);
      // asked without the capacity, or for other channels: still the week that stands
      const plain = await runAt(h, wk(2), { dir: first.dir });
      expect(plain.record).toEqual(first.record);
      expect(await h.snapshot()).toEqual(before);
    });

    it('the same starting state into a fresh folder writes the same files, byte for byte', async () => {
      const other = await harness(kind);
      await runAt(other, wk(0));
      await runAt(other, wk(1));
      const twin = await runAt(other, wk(2), { capacity: { 'outbound-call': 50 } });
      expect(twin.out.raw).toEqual(first.out.raw);
      expect(await other.snapshot()).toEqual(before);
      // the record too, but for when it ran, who ran it and where in the store's order it stood
      const same = ({
        startedAt,
        updatedAt,
        finishedAt,
        checkpoint,
        owner,
        ...rest
      }: RunRecord & { owner?: unknown }) => rest;
      expect(same(twin.record)).toEqual(same(first.record));
    });

    it('run again into a new folder (its record lost), it sends nothing twice and lists the same contacts', async () => {
      const dir = newDir();
      const again = await runAt(h, wk(2), {
        dir,
        records: new FolderRecords(() => dir),
        capacity: { 'outbound-call': 50 },
      });
      expect(await h.snapshot()).toEqual(before);
      expect(again.record.counts).toEqual(first.record.counts);
      for (const ch of OUTBOUND_CHANNELS) expect(again.out.raw[`${ch}.csv`]).toBe(first.out.raw[`${ch}.csv`]);
      // every decision logged again: the held-out and the uncontacted as well as the contacts
      expect([...again.out.decisions].map((d) => d.decisionId).sort()).toEqual(
        [...first.out.decisions].map((d) => d.decisionId).sort(),
      );
      expect(again.record.heldOut).toBe(first.record.heldOut);
      expect(again.record.unsent).toBe(first.record.unsent);
    });
  });

  describe('a run stopped in the middle of a batch resumes to the files of an uninterrupted run', () => {
    /** The contact store, failing every write after the first `n`: a stop between a batch's writes and its checkpoint. */
    const stoppingAfter = (contacts: ContactStore, n: number): Pick<ContactStore, 'readMany' | 'send'> => {
      let left = n;
      return {
        readMany: (ids) => contacts.readMany(ids),
        send: async (id, write) => {
          if (left-- <= 0) throw new Error('stopped');
          return contacts.send(id, write);
        },
      };
    };

    const cases = [
      // week 0: every customer enters a journey; many are due a step they get no contact for
      { name: 'a first week', before: 0, capacity: undefined, writes: 1_250 },
      // week 2: calls under a tight capacity, held-out waves
      { name: 'a week of capped calls', before: 2, capacity: { 'outbound-call': 50 }, writes: 40 },
    ];
    for (const c of cases)
      it(c.name, async () => {
        const whole = await harness(kind);
        const stopped = await harness(kind);
        for (let k = 0; k < c.before; k++) {
          await runAt(whole, wk(k));
          await runAt(stopped, wk(k));
        }
        const week = wk(c.before);
        const expected = await runAt(whole, week, { capacity: c.capacity, batchSize: 100 });
        const dir = newDir();
        await expect(
          runAt(stopped, week, {
            dir,
            capacity: c.capacity,
            batchSize: 100,
            contacts: stoppingAfter(stopped.contacts, c.writes),
          }),
        ).rejects.toThrow('stopped');
        const failed = (await stopped.records(dir).load(week.key))!;
        expect(failed.status).toBe('failed');
        expect(failed.phase).toBe('write');
        expect(failed.checkpoint?.after).toBeTruthy();
        const resumed = await runAt(stopped, week, { dir, capacity: c.capacity, batchSize: 100 });
        // nothing sent twice, nothing missing: the same contact state as the uninterrupted run's
        expect(await stopped.snapshot()).toEqual(await whole.snapshot());
        // the same lines, none twice (the order of lines written again may differ)
        for (const name of Object.keys(expected.out.raw))
          expect(sortedLines(resumed.out.raw[name]!), name).toEqual(sortedLines(expected.out.raw[name]!));
        const { counts, heldOut, unsent, customers, entered, exited } = resumed.record;
        expect({ counts, heldOut, unsent, customers, entered, exited }).toEqual({
          counts: expected.record.counts,
          heldOut: expected.record.heldOut,
          unsent: expected.record.unsent,
          customers: expected.record.customers,
          entered: expected.record.entered,
          exited: expected.record.exited,
        });
      });
  });

  describe('consecutive weeks', () => {
    const WEEKS = 16;
    let h: Harness;
    const runs: Ran[] = [];
    /** per week: the customers a step was due for before the run, by journeyMoves */
    const due: Set<string>[] = [];
    const profiles = new Map<string, Profile>();
    let accepters: string[] = [];
    let clickers: string[] = [];
    let movers: string[] = [];
    let wave1: Map<string, string>;

    beforeAll(async () => {
      h = await harness(kind);
      for (const p of population) profiles.set(p.customerId, p);
      const ids = population.map((p) => p.customerId);
      for (let k = 0; k < WEEKS; k++) {
        const states = await h.contacts.readMany(ids);
        due.push(new Set(ids.filter((id, i) => journeyMoves(rs, profiles.get(id)!, states[i]!, wk(k)).due.length > 0)));
        const ran = await runAt(h, wk(k));
        runs.push(ran);
        if (k === 0) {
          // a third of the welcomed accept the welcome offer, on the web
          const welcomed = ran.out.contacts.filter((c) => c.step === 'welcome').map((c) => c.customerId);
          accepters = welcomed.filter((_, i) => i % 3 === 0);
          // half of the first anti-churn wave click its email
          wave1 = new Map(ran.out.contacts.filter((c) => c.step === 'wave-1').map((c) => [c.customerId, c.offerId]));
          clickers = [...wave1.keys()].filter((_, i) => i % 2 === 0);
          await h.contacts.record([
            ...accepters.map((id) => event(id, 'accept', 'web', 'onboard-welcome-setup', wk(0).start + DAY)),
            ...clickers.map((id) => event(id, 'click', 'email', wave1.get(id)!, wk(0).start + 2 * DAY)),
          ]);
        }
        if (k === 1) {
          // 30 middle-segment loyal customers become at risk
          movers = population
            .filter((p) => p.lifecyclePhase === 'loyalty' && p.valueSegment === 'middle')
            .slice(0, 30)
            .map((p) => p.customerId);
          for (const id of movers) {
            const p = { ...profiles.get(id)!, lifecyclePhase: 'retain' as const, churnScore: 0.6 };
            profiles.set(id, p);
            await h.profiles.put(p);
          }
        }
      }
    });

    it('every week is sound: capacity, consent, one contact per customer, the control group, the counts', () => {
      for (const ran of runs) expectSound(ran, profiles);
      const total = (ch: string) => runs.reduce((s, r) => s + r.record.counts[ch]!, 0);
      for (const ch of OUTBOUND_CHANNELS) expect(total(ch), ch).toBeGreaterThan(0);
    });

    it('each journey step reaches a customer once; a repeating step only at its rhythm', () => {
      const every = new Map<string, number | undefined>();
      for (const j of rs.journeys) for (const s of j.steps) every.set(`${j.id}/${s.id}`, s.every);
      const seen = new Map<string, number[]>();
      runs.forEach((r, k) => {
        for (const c of r.out.contacts) {
          const key = `${c.customerId}|${c.journey}/${c.step}`;
          seen.set(key, [...(seen.get(key) ?? []), k]);
        }
      });
      let repeats = 0;
      for (const [key, weeks] of seen) {
        const step = key.slice(key.indexOf('|') + 1);
        expect(every.has(step), step).toBe(true);
        const n = every.get(step);
        if (n === undefined) expect(weeks, key).toHaveLength(1);
        else
          for (let i = 1; i < weeks.length; i++) {
            repeats++;
            expect((weeks[i]! - weeks[i - 1]!) % n, key).toBe(0);
          }
      }
      expect(repeats).toBeGreaterThan(0);
    });

    it('waves follow an unanswered first wave 14 days on, the letter the wave 21 days after it; never after a click', () => {
      /** per customer: the week offsets a step went out (or, for a control customer, came due: held out) */
      const weeksOf = (prefix: string) => {
        const out = new Map<string, number[]>();
        runs.forEach((r, k) => {
          for (const c of r.out.contacts)
            if (c.step.startsWith(prefix)) out.set(c.customerId, [...(out.get(c.customerId) ?? []), k]);
        });
        return out;
      };
      const first = weeksOf('wave-1');
      const second = weeksOf('wave-2');
      const third = weeksOf('wave-3');
      expect(second.size).toBeGreaterThan(0);
      expect(third.size).toBeGreaterThan(0);
      const clicked = new Set(clickers);
      for (const [id, weeks] of second) {
        expect(clicked.has(id), id).toBe(false);
        expect(weeks, id).toHaveLength(1);
        // a control customer's first wave was held out: due, logged, not sent
        if (armOf(id, rs) === 'champion') expect(first.get(id), id).toEqual([weeks[0]! - 2]);
      }
      for (const [id, weeks] of third) {
        expect(weeks, id).toHaveLength(1);
        if (armOf(id, rs) === 'champion') expect(second.get(id), id).toEqual([weeks[0]! - 3]);
      }
      // nobody who clicked the first wave heard from the journey again
      for (const id of clickers) expect(second.has(id) || third.has(id), id).toBe(false);
    });

    it('an accept of a journey offer ends the journey: counted as an exit, no step after it', () => {
      expect(accepters.length).toBeGreaterThan(5);
      expect(runs[1]!.record.exited.onboarding).toBe(accepters.length);
      const gone = new Set(accepters);
      for (const r of runs.slice(1))
        for (const c of r.out.contacts) if (gone.has(c.customerId)) expect(c.journey).not.toBe('onboarding');
      // the others go on: their week-1 text went out
      expect(runs[1]!.out.contacts.filter((c) => c.step === 'app').length).toBeGreaterThan(0);
    });

    it('a change of lifecycle phase ends the journey and enters the new phase\u2019s', async () => {
      expect(runs[2]!.record.exited.loyalty).toBe(movers.length);
      expect(runs[2]!.record.entered['anti-churn']).toBe(movers.length);
      const moved = new Set(movers);
      for (const r of runs.slice(2))
        for (const c of r.out.contacts) if (moved.has(c.customerId)) expect(c.journey).not.toBe('loyalty');
      // left loyalty in week 2; in anti-churn from week 2 until it completed, 12 weeks on
      const state = await h.state(movers[0]!);
      expect(state.journeys.get('loyalty|left')).toBe(wk(2).index);
      expect(state.journeys.get('anti-churn|left')).toBe(wk(14).index);
      expect(runs[14]!.record.exited['anti-churn']).toBeGreaterThanOrEqual(movers.length);
    });

    it('onboarding completes after its 15 weeks: counted as exits', () => {
      const entered = runs[0]!.record.entered.onboarding!;
      expect(runs[15]!.record.exited.onboarding).toBe(entered - accepters.length);
    });

    it('control customers: no held-out-group contact; their due steps logged with arm control and no offers', () => {
      const control = runs.flatMap((r) => r.out.decisions.filter((d) => d.arm === 'control'));
      expect(control.length).toBeGreaterThan(0);
      expect(control.filter((d) => d.offers.length === 0).length).toBeGreaterThan(0);
      for (const d of control) for (const o of d.offers) expect(HELD_OUT_GROUPS().has(o.group), o.offerId).toBe(false);
      const champion = runs.flatMap((r) => r.out.decisions.filter((d) => d.arm === 'champion'));
      expect(champion.length).toBeGreaterThan(control.length);
    });

    it('every customer a step was due for is in decisions.ndjson, contacted or not (both arms measured alike)', () => {
      runs.forEach((r, k) => {
        const logged = new Set(r.out.decisions.map((d) => d.customerId));
        const missing = [...due[k]!].filter((id) => !logged.has(id));
        expect(missing.length, `${r.week.key}: ${missing.length} of ${due[k]!.size} due customers not logged`).toBe(0);
      });
    });
  });
});

describe('runWeek: capacity', () => {
  /** Fresh memory stores, with the weeks before `k` run into them. */
  const upTo = async (k: number): Promise<Harness> => {
    const h = await memoryHarness();
    for (let i = 0; i < k; i++) await runAt(h, wk(i));
    return h;
  };
  const profiles = () => new Map(population.map((p) => [p.customerId, p]));

  it("week 2's calls: the manifest's 400 or fewer; an override of 50 gives exactly the 50 worth most; 0 gives none", async () => {
    const [a, b, c] = [await upTo(2), await upTo(2), await upTo(2)];
    const free = await runAt(a, wk(2));
    const tight = await runAt(b, wk(2), { capacity: { 'outbound-call': 50 } });
    const none = await runAt(c, wk(2), { capacity: { 'outbound-call': 0, sms: 3 } });
    for (const r of [free, tight, none]) expectSound(r, profiles());
    expect(free.record.allocation!.capacity).toEqual({
      email: null,
      sms: null,
      'direct-mail': 2000,
      'outbound-call': 400,
    });
    expect(free.record.counts['outbound-call']).toBeGreaterThan(50);
    expect(free.record.counts['outbound-call']).toBeLessThanOrEqual(400);
    expect(tight.record.allocation!.capacity['outbound-call']).toBe(50);
    expect(tight.record.counts['outbound-call']).toBe(50);
    expect(tight.record.capacity).toEqual({ 'outbound-call': 50 });
    // the 50 are those worth most: no call left out scores above one chosen
    const score = new Map(
      free.out.decisions
        .filter((d) => d.channel === 'outbound-call' && d.offers.length > 0)
        .map((d) => [d.customerId, d.offers[0]!.score]),
    );
    const chosen = tight.out.rows['outbound-call']!.map((r) => score.get(r.customerId)!);
    const chosenIds = new Set(tight.out.rows['outbound-call']!.map((r) => r.customerId));
    const left = [...score].filter(([id]) => !chosenIds.has(id)).map(([, s]) => s);
    expect(Math.min(...chosen)).toBeGreaterThanOrEqual(Math.max(...left));
    // the other channels do not notice
    expect(tight.out.raw['sms.csv']).toBe(free.out.raw['sms.csv']);
    expect(none.record.counts['outbound-call']).toBe(0);
    expect(none.record.counts.sms).toBe(3);
    // due calls that did not go out are logged, uncontacted: the same customers in decisions.ndjson
    const logged = (r: Ran) => [...new Set(r.out.decisions.map((d) => d.customerId))].sort();
    expect(logged(tight)).toEqual(logged(free));
    expect(tight.record.unsent + tight.record.heldOut).toBeGreaterThan(free.record.unsent + free.record.heldOut);
  });

  it('a letter budget: the capacity is floor(budget / cost), or capacityPerRun when smaller', async () => {
    const dir = await rulesCopy({
      'manifest.json': (m) => {
        m.outbound.channels['direct-mail'] = { budgetPerRun: 50, costPerContact: 1.25, capacityPerRun: 100 };
      },
    });
    try {
      const tighter = await shippedRuleSet(dir);
      expect(tighter.outbound.channels.get('direct-mail')!.capacity).toBe(40);
      const [a, b] = [await upTo(5), await upTo(5)];
      // week 5: the third anti-churn wave, by letter
      const free = await runAt(a, wk(5));
      const budget = await runAt(b, wk(5), { ruleset: tighter });
      expect(free.record.counts['direct-mail']).toBeGreaterThan(40);
      expect(budget.record.counts['direct-mail']).toBe(40);
      expect(budget.record.allocation!.capacity['direct-mail']).toBe(40);
      expect(budget.record.allocation!.gap).toBeLessThanOrEqual(0.01);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.each(['memory', 'redis'] as const)('runWeek and inbound decisions share one contact policy (%s)', (kind) => {
  const week = W0;
  let baseline: Ran;
  let tested: Ran;
  let th: Harness;
  let bh: Harness;
  const groups: Record<'accepted' | 'saved' | 'contacted' | 'sales', string[]> = {
    accepted: [],
    saved: [],
    contacted: [],
    sales: [],
  };
  const rowsOf = (r: Ran, id: string) => r.out.contacts.filter((c) => c.customerId === id);

  beforeAll(async () => {
    bh = await harness(kind);
    baseline = await runAt(bh, week);
    const contacted = baseline.out.contacts.filter((c) => armOf(c.customerId, rs) === 'champion');
    const taken = new Set<string>();
    const pick = (rows: readonly ContactRow[], n: number) => {
      const out: string[] = [];
      for (const r of rows) if (out.length < n && !taken.has(r.customerId)) out.push(r.customerId);
      for (const id of out) taken.add(id);
      return out;
    };
    groups.accepted = pick(
      contacted.filter((c) => c.offerId === 'onboard-welcome-setup'),
      15,
    );
    groups.sales = pick(
      contacted.filter((c) => groupOf(c.offerId) === 'develop'),
      20,
    );
    groups.saved = pick(
      contacted.filter((c) => ['care', 'develop'].includes(groupOf(c.offerId))),
      20,
    );
    groups.contacted = pick(contacted, 20);
    for (const g of Object.values(groups)) expect(g.length).toBeGreaterThanOrEqual(10);
    th = await harness(kind);
    const ago = (days: number, hours = 0) => week.start - days * DAY + hours * 3_600_000;
    await th.contacts.record([
      // stop after accept (180 days, this offer)
      ...groups.accepted.map((id) => event(id, 'accept', 'web', 'onboard-welcome-setup', ago(2))),
      // quiet for 30 days after a save: no onboard, care, develop or winback offer anywhere
      ...groups.saved.map((id) => event(id, 'accept', 'call-center', 'save-loyalty-discount', ago(10))),
      // 2 outbound contacts a week: two already this week (yesterday, by text)
      ...groups.contacted.flatMap((id) => [
        event(id, 'impression', 'sms', 'service-app-download', ago(1)),
        event(id, 'impression', 'sms', 'service-coverage-check', ago(1, 1)),
      ]),
      // 5 sales offers a week, all channels: five on the web yesterday
      ...groups.sales.flatMap((id) =>
        [1, 2, 3, 4, 5].map((n) => event(id, 'impression', 'web', 'develop-tv-bundle', ago(1, n))),
      ),
    ]);
    tested = await runAt(th, week);
  });

  it('an inbound accept before the run: the offer is not sent again (stop after accept)', () => {
    for (const id of groups.accepted) {
      expect(rowsOf(tested, id).map((c) => c.offerId)).not.toContain('onboard-welcome-setup');
      // the due step is logged, uncontacted
      expect(tested.out.decisions.some((d) => d.customerId === id && d.offers.length === 0)).toBe(true);
    }
  });

  it('a save accepted 10 days before: quiet for 30 days on the outbound channels too', () => {
    const quiet = new Set(['onboard', 'care', 'develop', 'winback']);
    for (const id of groups.saved)
      for (const c of rowsOf(tested, id)) expect(quiet.has(groupOf(c.offerId)), c.offerId).toBe(false);
  });

  it('two outbound contacts already this week: no third (2 outbound contacts a week)', () => {
    for (const id of groups.contacted) expect(rowsOf(tested, id)).toEqual([]);
  });

  it('five sales impressions on the web this week: no sales offer by email (5 sales offers a week, all channels)', () => {
    for (const id of groups.sales)
      for (const c of rowsOf(tested, id)) expect(groupOf(c.offerId), c.offerId).not.toBe('develop');
  });

  it('everyone else is contacted as before', () => {
    const touched = new Set(Object.values(groups).flat());
    const others = (r: Ran) =>
      r.out.contacts
        .filter((c) => !touched.has(c.customerId))
        .map((c) => `${c.channel},${c.customerId},${c.offerId}`)
        .sort();
    expect(others(tested)).toEqual(others(baseline));
  });

  it("the run's contacts count for inbound decisions: a sales email and four web impressions make five", async () => {
    // customers the run sent a sales offer by email
    const sold = baseline.out.contacts.filter((c) => groupOf(c.offerId) === 'develop').slice(0, 15);
    expect(sold.length).toBeGreaterThanOrEqual(10);
    const now = week.start + 3 * 3_600_000;
    const fresh = await memoryHarness();
    let withoutRun = 0;
    for (const c of sold) {
      const four = [1, 2, 3, 4].map((n) =>
        event(c.customerId, 'impression', 'web', 'develop-tv-bundle', week.start + n * 60_000),
      );
      await bh.contacts.record(four);
      await fresh.contacts.record(four);
      const profile = population.find((p) => p.customerId === c.customerId)!;
      const ask = (contacts: ContactState) =>
        decide(
          rs,
          { request: { customerId: c.customerId, channel: 'web', limit: 4 }, profile, degraded: false },
          priorPropensity,
          {
            contacts,
            now,
          },
        );
      const after = ask(await bh.state(c.customerId));
      expect(
        after.decision.offers.filter((o) => o.group === 'develop'),
        c.customerId,
      ).toEqual([]);
      // without the run's email, the four web impressions alone leave room for a fifth
      const before = ask(await fresh.state(c.customerId));
      if (before.decision.offers.some((o) => o.group === 'develop')) {
        withoutRun++;
        expect([...after.suppressed.values()], c.customerId).toContain('5 sales offers a week, all channels');
      }
    }
    expect(withoutRun).toBeGreaterThan(0);
  });

  it("the run's contact and one more outbound contact make two: a third, on any outbound channel, is held back", async () => {
    const contacted = baseline.out.contacts
      .filter((c) => c.channel === 'email' && !Object.values(groups).flat().includes(c.customerId))
      .slice(0, 10);
    expect(contacted.length).toBe(10);
    const now = week.start + 5 * 3_600_000;
    const fresh = await memoryHarness();
    for (const c of contacted) {
      const text = event(c.customerId, 'impression', 'sms', 'service-coverage-check', week.start + 3_600_000);
      await bh.contacts.record([text]);
      await fresh.contacts.record([text]);
      const profile = population.find((p) => p.customerId === c.customerId)!;
      const ask = (contacts: ContactState) =>
        decide(
          rs,
          { request: { customerId: c.customerId, channel: 'email', limit: 1 }, profile, degraded: false },
          priorPropensity,
          { contacts, now },
        );
      const after = ask(await bh.state(c.customerId));
      expect(after.decision.offers, c.customerId).toEqual([]);
      expect(new Set(after.suppressed.values()), c.customerId).toEqual(new Set(['2 outbound contacts a week']));
      // the text alone is one
      expect([...ask(await fresh.state(c.customerId)).suppressed.values()]).not.toContain('2 outbound contacts a week');
    }
  });
});
