import { randomUUID } from 'node:crypto';
import type { Result } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisLane } from '../redis/health.js';
import type { Counters } from './store.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nextbestAddCounts(hash: string, marker: string, ...args: (string | number)[]): Result<number, Context>;
  }
}

const FLUSH_MS = 1_000;
/** Fields per write; a bigger backlog goes in several. */
const BATCH_FIELDS = 1_000;
/** How long a batch's id is remembered, so a retry after an unanswered write is not applied twice. */
const MARKER_SECONDS = 3_600;

/** Adds a batch once: a retry with the same id after a lost reply finds the marker and adds nothing. */
const ADD_COUNTS = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`;

interface Batch {
  readonly id: string;
  readonly entries: readonly (readonly [string, number])[];
}

/**
 * Totals in one Redis hash shared by every node (`<prefix>{<name>}`; its batch markers share
 * the hash tag, so one script touches one Cluster slot). Additions collect in memory and are
 * written once a second, off the request path; a batch whose write failed is tried again as
 * it was, under the same id, so it is added exactly once and nothing added is lost while
 * Redis is away (short of a stop).
 */
export class RedisCounters implements Counters {
  private pending = new Map<string, number>();
  /** batches written without an answer yet, or whose write failed */
  private unconfirmed: Batch[] = [];
  /** batches sent and not answered: a read sent after them on the same connection already sees them */
  private readonly sending = new Set<Batch>();
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly lane: RedisLane,
    private readonly key: string,
    private readonly log: Logger,
  ) {
    lane.client.defineCommand('nextbestAddCounts', { numberOfKeys: 2, lua: ADD_COUNTS });
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  add(field: string, n = 1): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + n);
  }

  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async write(): Promise<void> {
    if (!this.lane.health.available()) return;
    const fresh = [...this.pending];
    this.pending = new Map();
    for (let i = 0; i < fresh.length; i += BATCH_FIELDS)
      this.unconfirmed.push({ id: randomUUID(), entries: fresh.slice(i, i + BATCH_FIELDS) });
    const { client, health } = this.lane;
    const batches = this.unconfirmed;
    for (const b of batches) this.sending.add(b);
    const results = await Promise.allSettled(
      batches.map((b) =>
        health.call('counters', () =>
          client.nextbestAddCounts(this.key, `${this.key}:batch:${b.id}`, MARKER_SECONDS, ...b.entries.flat()),
        ),
      ),
    );
    for (const b of batches) this.sending.delete(b);
    const failed = batches.filter((_, i) => results[i]!.status === 'rejected');
    this.unconfirmed = [...failed, ...this.unconfirmed.slice(batches.length)];
    if (failed.length > 0)
      this.log.debug({ key: this.key, batches: failed.length }, 'counter writes failed; tried again next round');
  }

  /** Redis's totals plus what this node has not written, or not had confirmed, yet. */
  async totals(): Promise<ReadonlyMap<string, number>> {
    const { client, health } = this.lane;
    // batches already sent are ahead of this read on the connection: Redis's totals include them
    const ahead = new Set(this.sending);
    const stored = await health.call('counters read', () => client.hgetall(this.key));
    const out = new Map<string, number>();
    for (const [field, v] of Object.entries(stored)) out.set(field, Number(v));
    const add = (field: string, n: number) => out.set(field, (out.get(field) ?? 0) + n);
    for (const b of this.unconfirmed) if (!ahead.has(b)) for (const [field, n] of b.entries) add(field, n);
    for (const [field, n] of this.pending) add(field, n);
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    const left = this.pending.size + this.unconfirmed.reduce((n, b) => n + b.entries.length, 0);
    if (left > 0) this.log.warn({ key: this.key, fields: left }, 'counter additions not written at shutdown');
  }
}
