import { Cluster, type Result } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import { RecentDecisions } from './recent.js';
import {
  answerable,
  type DecisionEntry,
  type DecisionLog,
  type DecisionRecord,
  type IssuedDecision,
  type LoggedLine,
  loggedLine,
  recalled,
} from './store.js';

/** The first wait after a failed write; it doubles with each failure in a row, up to MAX_BACKOFF_MS. */
const RETRY_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Entries per write; the writer yields to requests between batches. */
const BATCH = 100;
/** Most entries held while Redis is away; beyond it the oldest tenth is dropped and counted. */
export const DECISION_LOG_BUFFER = 50_000;
/** This node's own recent decisions, found without asking Redis. */
const LOCAL_DECISIONS = 50_000;
/** A decision made on another node a moment ago may not be written yet: what is missing is asked for once more after this. */
const LATE_WRITE_MS = 50;

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nextbestLogDecisions(keys: number, ...args: (string | number)[]): Result<number, Context>;
  }
}

/**
 * A batch of decisions in one call, on a single Redis server (a Cluster spreads the keys over
 * slots, and gets a command each): the key of each, then the stream entry, as writeOne does.
 * KEYS: the stream, then each decision's key. ARGV: the stream's cap (0: no stream), then per
 * decision its record line and its key's time to live in ms.
 */
const LOG_DECISIONS = `
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i * 2 - 2], 'PX', ARGV[i * 2 - 1])
  if ARGV[1] ~= '0' then redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'record', ARGV[i * 2 - 2]) end
end
return #KEYS - 1`;

/**
 * Every decision goes to two places: a key of its own
 * (`<prefix>decision:<decisionId>`, the record as JSON, expiring after the
 * response window), where responses that name it find it from any node; and, unless
 * `maxLen` is 0, the stream `<prefix>decisions` (one field, `record`), capped near `maxLen`
 * entries. The hot path only pushes to an array; the writes leave on the next turn of the
 * event loop, in small batches through the write lane, yielding to requests between them, and
 * back off while they fail. Only the entries that failed are written again. While Redis is
 * away entries wait, up to DECISION_LOG_BUFFER, then the oldest are dropped and counted in
 * nextbest_decision_log_entries_total{result="dropped"}.
 */
export class RedisDecisionLog implements DecisionLog {
  private pending: LoggedLine[] = [];
  private readonly local = new RecentDecisions(LOCAL_DECISIONS);
  private timer: { cancel(): void } | undefined;
  private writing: Promise<void> | undefined;
  private failures = 0;
  /** a batch per script call: a single server (a Cluster spreads the keys over slots) that has not refused it */
  private batched: boolean;
  private readonly written;
  private readonly dropped;

  constructor(
    private readonly writeLane: RedisLane,
    private readonly readLane: RedisLane,
    private readonly keys: RedisKeys,
    /** the stream's cap; 0 keeps no stream (the keys responses look up are written all the same) */
    private readonly maxLen: number,
    /** how long after a decision responses may name it */
    private readonly windowMs: number,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.batched = !(writeLane.client instanceof Cluster);
    if (this.batched) writeLane.client.defineCommand('nextbestLogDecisions', { lua: LOG_DECISIONS });
    this.written = metrics.decisionLog.slot('written');
    this.dropped = metrics.decisionLog.slot('dropped');
    metrics.gauge(
      'nextbest_decision_log_pending',
      'Decisions waiting to be written to the decision log',
      () => this.pending.length,
    );
  }

  append(entry: DecisionEntry): void {
    this.local.remember(entry);
    this.pending.push(loggedLine(entry));
    if (this.pending.length > DECISION_LOG_BUFFER) {
      // a tenth at a time, so a full buffer does not cost a shift per decision
      const over = this.pending.length - DECISION_LOG_BUFFER * 0.9;
      this.pending.splice(0, over);
      this.dropped.n += over;
    }
    if (!this.timer && !this.writing) this.later(0);
  }

  async find(customerId: string, decisionIds: readonly string[]): Promise<ReadonlyMap<string, IssuedDecision>> {
    const found = new Map<string, IssuedDecision>();
    const now = Date.now();
    const since = now - this.windowMs;
    const elsewhere: string[] = [];
    for (const id of decisionIds) {
      const r = this.local.get(id);
      if (r === undefined) elsewhere.push(id);
      else if (r.customerId === customerId && answerable(r, since, now)) found.set(id, recalled(id, r));
    }
    if (elsewhere.length === 0) return found;
    const add = (records: ReadonlyMap<string, DecisionRecord>) => {
      for (const [id, r] of records) if (r.customerId === customerId) found.set(id, r);
    };
    add(await this.fetch(elsewhere));
    const late = elsewhere.filter((id) => !found.has(id));
    if (late.length === 0) return found;
    await new Promise((resolve) => setTimeout(resolve, LATE_WRITE_MS));
    add(await this.fetch(late));
    return found;
  }

  async get(decisionId: string): Promise<DecisionRecord | undefined> {
    const pending = this.pending.find((l) => l.decisionId === decisionId);
    if (pending) return JSON.parse(pending.line) as DecisionRecord;
    return (await this.fetch([decisionId])).get(decisionId);
  }

  /** The decisions' records from their keys, read together (auto-pipelined: one round trip a node). */
  private async fetch(ids: readonly string[]): Promise<Map<string, DecisionRecord>> {
    const { client, health } = this.readLane;
    const values = await health.call('decision find', () =>
      Promise.all(ids.map((id) => client.get(this.keys.decision(id)))),
    );
    const found = new Map<string, DecisionRecord>();
    values.forEach((json, i) => {
      if (json === null) return;
      try {
        const record = JSON.parse(json) as DecisionRecord;
        if (record.decisionId === ids[i]) found.set(record.decisionId, record);
      } catch {
        // not a record: as if absent
      }
    });
    return found;
  }

  /** Flushes after `ms`; with 0 right after this turn's I/O, so that other nodes find the decisions soon. */
  private later(ms: number): void {
    if (ms === 0) {
      const soon = setImmediate(() => void this.flush());
      soon.unref();
      this.timer = { cancel: () => clearImmediate(soon) };
    } else {
      const timer = setTimeout(() => void this.flush(), ms);
      timer.unref();
      this.timer = { cancel: () => clearTimeout(timer) };
    }
  }

  /** Writes what is pending; what fails goes back to the head for the next attempt. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 && !this.timer)
        this.later(this.failures === 0 ? 0 : Math.min(RETRY_MS * 2 ** (this.failures - 1), MAX_BACKOFF_MS));
    });
    return this.writing;
  }

  /** How long a decision's key is kept: the response window, or longer when responses may come later. */
  private ttlMs(l: LoggedLine, now: number): number {
    return Math.max(this.windowMs, (l.respondUntil ?? 0) - now);
  }

  /**
   * A batch in one script call (a single server): every entry written, or the batch failed and
   * is sent again whole (readers dedupe by decisionId). A server that refuses the script (a
   * proxy in front of shards answers CROSSSLOT, scripting turned off) gets a command a decision
   * from then on.
   */
  private async writeBatch(batch: readonly LoggedLine[]): Promise<PromiseSettledResult<unknown>[]> {
    const { client, health } = this.writeLane;
    const keys = [this.keys.decisions];
    const args: (string | number)[] = [this.maxLen];
    const now = Date.now();
    for (const l of batch) {
      keys.push(this.keys.decision(l.decisionId));
      args.push(l.line, this.ttlMs(l, now));
    }
    let refused: Error | undefined;
    try {
      await health.call('decision log', () =>
        client.nextbestLogDecisions(keys.length, ...keys, ...args).catch((err: Error) => {
          if (err.name === 'ReplyError') refused = err;
          throw err;
        }),
      );
      return batch.map(() => ({ status: 'fulfilled', value: undefined }));
    } catch (reason) {
      if (refused) {
        this.batched = false;
        this.log.warn(
          { err: refused.message },
          'decision log: Redis refused the batch script; writing a command per decision',
        );
      }
      return batch.map(() => ({ status: 'rejected', reason }));
    }
  }

  private writeOne(l: LoggedLine): Promise<unknown> {
    const { client, health } = this.writeLane;
    const json = l.line;
    const index = health.call('decision index', () =>
      client.set(this.keys.decision(l.decisionId), json, 'PX', this.ttlMs(l, Date.now())),
    );
    if (this.maxLen === 0) return index;
    const stream = health.call('decision log', () =>
      client.xadd(this.keys.decisions, 'MAXLEN', '~', String(this.maxLen), '*', 'record', json),
    );
    return Promise.all([index, stream]);
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      if (!this.writeLane.health.available()) {
        this.failures++;
        return;
      }
      const batch = this.pending.splice(0, BATCH);
      const results = this.batched
        ? await this.writeBatch(batch)
        : await Promise.allSettled(batch.map((e) => this.writeOne(e)));
      const failed = batch.filter((_, i) => results[i]!.status === 'rejected');
      this.written.n += batch.length - failed.length;
      if (failed.length > 0) {
        // a write that timed out may still have been applied: readers dedupe by decisionId
        this.pending = failed.concat(this.pending);
        this.failures++;
        this.log.debug(
          { failed: failed.length, pending: this.pending.length },
          'decision log write failed; will retry',
        );
        return;
      }
      this.failures = 0;
      await nextTick();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.pending.length > 0)
      this.log.error({ decisions: this.pending.length }, 'decisions not written to the decision log at shutdown');
  }
}
