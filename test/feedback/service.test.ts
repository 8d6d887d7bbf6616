import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  type ContactStore,
  MemoryContactStore,
  type ResponseEvent,
  type WriteResult,
} from '../../src/contacts/index.js';
import { MemoryDecisionLog } from '../../src/decision-log/memory.js';
import { ApiError } from '../../src/errors.js';
import { type ResponseEventInput, ResponseService, type StoredResponse } from '../../src/feedback/index.js';
import { Metrics } from '../../src/ops/metrics.js';

/** The memory store behind a switch: while down, available() is false and record() throws; writes for `shardDown` customers fail alone. */
class FlakyStore implements ContactStore {
  readonly kind = 'flaky';
  readonly memory = new MemoryContactStore();
  up = true;
  /** true: available() still says yes but record() throws, like a write that times out */
  lying = false;
  writes: (readonly ResponseEvent[])[] = [];
  /** customers whose writes fail while the rest go through, like a dead Cluster master's */
  readonly shardDown = new Set<string>();

  available(): boolean {
    return this.up || this.lying;
  }

  async record(events: readonly ResponseEvent[]): Promise<WriteResult> {
    if (!this.up) throw new Error('connection refused');
    const failed = events.filter((e) => this.shardDown.has(e.customerId));
    const ok = events.filter((e) => !this.shardDown.has(e.customerId));
    if (ok.length > 0) this.writes.push(ok);
    return { ...(await this.memory.record(ok)), failed };
  }

  read(customerId: string) {
    return this.memory.read(customerId);
  }

  reserve(...args: Parameters<MemoryContactStore['reserve']>) {
    return this.memory.reserve(...args);
  }

  send(...args: Parameters<MemoryContactStore['send']>) {
    return this.memory.send(...args);
  }

  readMany(customerIds: readonly string[]) {
    return this.memory.readMany(customerIds);
  }

  history(customerId: string): Promise<ResponseEvent[]> {
    return this.memory.history(customerId);
  }
}

const log = pino({ level: 'silent' });
const service = (store: ContactStore, capacity = 100) =>
  new ResponseService(store, new MemoryDecisionLog(60_000), capacity, new Metrics({ defaultMetrics: false }), log, {
    closeWaitMs: 300,
  });
const event = (eventId: string, customerId = 'C1'): ResponseEventInput => ({
  customerId,
  offerId: 'save-discount-12m',
  outcome: 'click',
  channel: 'web',
  eventId,
  decisionId: undefined,
  at: undefined,
});
const ids = async (store: ContactStore, customerId = 'C1') => (await store.history(customerId)).map((e) => e.eventId);

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('ResponseService', () => {
  it('stores events directly while the store works, settling eventId and time at receipt', async () => {
    const store = new MemoryContactStore();
    const s = service(store);
    const before = Date.now();
    expect(
      await s.record([event('e1'), { ...event('ignored'), eventId: undefined, at: '2024-05-01T10:00:00Z' }]),
    ).toEqual({ accepted: 2, duplicates: 0, buffered: 0 });
    const [first, second] = await store.history('C1');
    expect(first).toMatchObject({ eventId: 'e1', outcome: 'click', offerId: 'save-discount-12m' });
    expect(first!.at).toBeGreaterThanOrEqual(before);
    expect(second!.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second!.at).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(s.buffered).toBe(0);
  });

  it('counts a repeated eventId once, within a request and across requests', async () => {
    const store = new MemoryContactStore();
    const s = service(store);
    expect(await s.record([event('e1'), event('e1'), event('e2')])).toEqual({
      accepted: 2,
      duplicates: 1,
      buffered: 0,
    });
    expect(await s.record([event('e2'), event('e3')])).toEqual({ accepted: 1, duplicates: 1, buffered: 0 });
    expect(await ids(store)).toEqual(['e1', 'e2', 'e3']);
  });

  it('buffers while the store is down and writes in order on flush()', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    expect(await s.record([event('e1'), event('e2')])).toEqual({ accepted: 2, duplicates: 0, buffered: 2 });
    expect(await s.record([event('e3')])).toEqual({ accepted: 1, duplicates: 0, buffered: 1 });
    expect(s.buffered).toBe(3);
    await s.flush();
    expect(s.buffered).toBe(3); // still down: nothing lost, nothing written
    store.up = true;
    await s.flush();
    expect(s.buffered).toBe(0);
    expect(await ids(store)).toEqual(['e1', 'e2', 'e3']);
  });

  it('names the request in the log line when its events wait in the buffer', async () => {
    const lines: Record<string, unknown>[] = [];
    const store = new FlakyStore();
    store.lying = true;
    store.up = false;
    const s = new ResponseService(
      store,
      new MemoryDecisionLog(60_000),
      100,
      new Metrics({ defaultMetrics: false }),
      pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
      { closeWaitMs: 300 },
    );
    expect(await s.record([event('e1')], 'req-42')).toMatchObject({ buffered: 1 });
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'response events could not be stored; buffering',
        requestId: 'req-42',
        events: 1,
      }),
    ]);
  });

  it('buffers when available() says yes but the write throws', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    store.lying = true;
    expect(await s.record([event('e1')])).toMatchObject({ accepted: 1, buffered: 1 });
    store.up = true;
    await s.flush();
    expect(await ids(store)).toEqual(['e1']);
  });

  it('writes the buffer by itself when the retry timer fires', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    await s.record([event('e1')]);
    store.up = true;
    await expect.poll(() => s.buffered, { timeout: 2_000, interval: 20 }).toBe(0);
    expect(await ids(store)).toEqual(['e1']);
  });

  it('queues later events behind buffered ones even once the store is back', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    await s.record([event('e1')]);
    store.up = true;
    // the store works again, but e1 has not been written yet: e2 must wait behind it
    expect(await s.record([event('e2')])).toMatchObject({ buffered: 1 });
    await s.flush();
    expect(await ids(store)).toEqual(['e1', 'e2']);
    expect(await s.record([event('e3')])).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
    expect(await ids(store)).toEqual(['e1', 'e2', 'e3']);
  });

  it('refuses a request that does not fit, whole, with unavailable and retryAfter', async () => {
    const store = new FlakyStore();
    const s = service(store, 3);
    store.up = false;
    await s.record([event('e1'), event('e2')]);
    const err = await refusal(s.record([event('e3'), event('e4')]));
    expect(err.code).toBe('unavailable');
    expect(err.retryAfter).toBeGreaterThan(0);
    expect(s.buffered).toBe(2); // none of e3, e4 was taken
    expect(await s.record([event('e5')])).toMatchObject({ buffered: 1 }); // what fits still fits
    store.up = true;
    await s.flush();
    expect(await ids(store)).toEqual(['e1', 'e2', 'e5']);
  });

  it('refuses at once with capacity 0 when the store fails, and stores normally when it works', async () => {
    const store = new FlakyStore();
    const s = service(store, 0);
    expect(await s.record([event('e1')])).toMatchObject({ accepted: 1, buffered: 0 });
    store.up = false;
    expect((await refusal(s.record([event('e2')]))).code).toBe('unavailable');
    store.lying = true;
    expect((await refusal(s.record([event('e3')]))).retryAfter).toBeGreaterThan(0);
    expect(await ids(store)).toEqual(['e1']);
  });

  it('makes a last attempt on close()', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    await s.record([event('e1'), event('e2', 'C2')]);
    store.up = true;
    await s.close();
    expect(s.buffered).toBe(0);
    expect(await ids(store)).toEqual(['e1']);
    expect(await ids(store, 'C2')).toEqual(['e2']);
  });

  it('keeps trying on close() while the store comes back', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    await s.record([event('e1')]);
    setTimeout(() => (store.up = true), 150);
    expect(await s.close()).toBe(0);
    expect(await ids(store)).toEqual(['e1']);
  });

  it('says how many close() could not write, keeping them rather than pretending they were stored', async () => {
    const store = new FlakyStore();
    const s = service(store);
    store.up = false;
    await s.record([event('e1')]);
    expect(await s.close()).toBe(1);
    expect(s.buffered).toBe(1);
    expect(store.writes).toHaveLength(0);
    // closed means closed: no retry timer writes through connections the caller is closing
    store.up = true;
    await new Promise((r) => setTimeout(r, 600));
    expect(store.writes).toHaveLength(0);
  });

  it('never drops an acknowledged event, and stores a buffered duplicate once', async () => {
    const store = new FlakyStore();
    const s = service(store);
    await s.record([event('e1')]);
    store.up = false;
    // while buffered the receipt cannot know about duplicates: it acknowledges every event
    const receipt = await s.record([event('e1'), event('e2'), event('e2')]);
    expect(receipt).toEqual({ accepted: 3, duplicates: 0, buffered: 3 });
    store.up = true;
    await s.flush();
    expect(await ids(store)).toEqual(['e1', 'e2']);
    // the store has seen every buffered eventId: a resend is a duplicate
    expect(await s.record([event('e1'), event('e2')])).toEqual({ accepted: 0, duplicates: 2, buffered: 0 });
  });

  it('buffers only the events a dead shard refused, and those do not hold the others back', async () => {
    const store = new FlakyStore();
    const s = service(store, 3);
    store.shardDown.add('C9');
    expect(await s.record([event('a1'), event('b1', 'C9'), event('a2', 'C2')])).toEqual({
      accepted: 3,
      duplicates: 0,
      buffered: 1,
    });
    expect(await ids(store)).toEqual(['a1']);
    // healthy customers' events queue behind b1 but are written on the next flush; b1 stays
    await s.record([event('a3'), event('a4', 'C2')]);
    await s.flush();
    expect(await ids(store)).toEqual(['a1', 'a3']);
    expect(await ids(store, 'C2')).toEqual(['a2', 'a4']);
    expect(s.buffered).toBe(1);
    store.shardDown.clear();
    await s.flush();
    expect(await ids(store, 'C9')).toEqual(['b1']);
    expect(s.buffered).toBe(0);
  });

  it('says which part of a refused request was recorded', async () => {
    const store = new FlakyStore();
    const s = service(store, 0);
    store.shardDown.add('C9');
    const err = await refusal(s.record([event('a1'), event('b1', 'C9')]));
    expect(err.detail).toMatch(
      /1 of 2 events were recorded and 1 were not; send the request again with the same eventIds/,
    );
    expect(await ids(store)).toEqual(['a1']);
  });

  it('writes a large buffer out in batches, in order', async () => {
    const store = new FlakyStore();
    const s = service(store, 2_000);
    store.up = false;
    // two customers, so neither history reaches its 1 000-event cap
    const many = Array.from({ length: 1_200 }, (_, i) => event(`e${i}`, `C${i % 2}`));
    await s.record(many);
    store.up = true;
    await s.flush();
    expect(store.writes.map((w) => w.length)).toEqual([500, 500, 200]);
    for (const c of ['C0', 'C1'])
      expect(await ids(store, c)).toEqual(many.filter((e) => e.customerId === c).map((e) => e.eventId));
  });
});

describe('ResponseService: writes that fail after being applied', () => {
  /** Stores, then throws, the first time: a reply lost after Redis ran the script. */
  class LostReply extends MemoryContactStore {
    lose = true;
    override async record(events: readonly ResponseEvent[]): Promise<WriteResult> {
      const result = await super.record(events);
      if (this.lose) {
        this.lose = false;
        throw new Error('Command timed out');
      }
      return result;
    }
  }

  it('owes the tallies of an event whose first write was applied but unanswered, and tells of duplicates as not owed', async () => {
    const store = new LostReply();
    const told: StoredResponse[] = [];
    const s = new ResponseService(
      store,
      new MemoryDecisionLog(60_000),
      100,
      new Metrics({ defaultMetrics: false }),
      log,
      { closeWaitMs: 300, onStored: (stored) => told.push(...stored) },
    );
    const before = Date.now();
    expect(await s.record([event('e1'), event('e2')])).toEqual({ accepted: 2, duplicates: 0, buffered: 2 });
    expect(told).toEqual([]);
    await s.flush(); // the retry finds them recorded: its own earlier write, so they are owed now
    const owed = (ids: string[]) =>
      ids.map((eventId) => expect.objectContaining({ event: expect.objectContaining({ eventId }), owed: true }));
    expect(told).toEqual(owed(['e1', 'e2']));
    // when the store recorded them: the first, unanswered, write
    for (const r of told) expect(r.recordedAt).toBeGreaterThanOrEqual(before);
    expect(s.buffered).toBe(0);
    // a genuine repeat from a client is a duplicate, told as not owed: tallies are made once per event
    expect(await s.record([event('e1')])).toEqual({ accepted: 0, duplicates: 1, buffered: 0 });
    expect(told.slice(2)).toEqual([
      expect.objectContaining({
        event: expect.objectContaining({ eventId: 'e1' }),
        owed: false,
        recordedAt: told[0]!.recordedAt,
      }),
    ]);
  });
});

describe('ResponseService across a stop', () => {
  it('hands over what close() could not write, and takes it back in a new service beyond its capacity', async () => {
    const decisions = new MemoryDecisionLog(60_000);
    decisions.append({
      decision: {
        decisionId: 'd1',
        customerId: 'C1',
        channel: 'web',
        rulesetVersion: 'v',
        profile: { found: true, valueSegment: 'top', lifecyclePhase: 'retain' },
        offers: [{ rank: 1, offerId: 'save-discount-12m', group: 'save', score: 1, propensity: 0.1 }],
        arm: 'champion',
        degraded: false,
      },
      at: Date.now(),
      preview: false,
      interactionId: null,
      clv: null,
      churnScore: null,
    });
    const store = new FlakyStore();
    const s = new ResponseService(store, decisions, 100, new Metrics({ defaultMetrics: false }), log, {
      closeWaitMs: 100,
    });
    await s.record([event('e1')]); // written
    store.up = false;
    store.lying = true; // tried and failed: attempted
    await s.record([{ ...event('e2'), outcome: 'impression', decisionId: 'd1' }]);
    store.lying = false; // not even tried
    await s.record([event('e3')]);
    expect(await s.close()).toBe(2);
    const unwritten = JSON.parse(JSON.stringify(s.unwritten()));
    expect(unwritten).toEqual([
      {
        event: expect.objectContaining({ eventId: 'e2', decisionId: 'd1' }),
        decision: expect.objectContaining({ decisionId: 'd1', arm: 'champion' }),
        attempted: true,
      },
      { event: expect.objectContaining({ eventId: 'e3' }), attempted: false },
    ]);
    // the next process: no decision log of its own knows d1, the event carries it
    const told: StoredResponse[] = [];
    const next = new ResponseService(
      store,
      new MemoryDecisionLog(60_000),
      1,
      new Metrics({ defaultMetrics: false }),
      log,
      {
        closeWaitMs: 100,
        onStored: (stored) => told.push(...stored),
      },
    );
    store.up = true;
    next.restore(unwritten);
    expect(next.buffered).toBe(2); // beyond its capacity of 1: acknowledged already
    expect((await refusal(next.record([event('e4')]))).code).toBe('unavailable'); // new ones wait their turn
    await next.flush();
    expect(await next.record([event('e4')])).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
    expect(await ids(store)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(told.map((r) => [r.event.eventId, r.owed, r.decision?.decisionId])).toEqual([
      ['e2', true, 'd1'],
      ['e3', true, undefined],
      ['e4', true, undefined],
    ]);
  });
});
