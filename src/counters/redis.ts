import { createHash, randomUUID } from 'node:crypto';
import type { Result } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisLane } from '../redis/health.js';
import type { CounterBacklog, Counters, Tally } from './store.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nextbestTally(
      hash: string,
      marker: string,
      marks: string,
      before: string,
      ...args: (string | number)[]
    ): Result<number, Context>;
  }
}

const FLUSH_MS = 1_000;
/** Fields per write; a bigger backlog goes in several. */
const BATCH_FIELDS = 1_000;
/** How long a batch's id is remembered, so a retry after an unanswered write is not applied twice. */
const MARKER_SECONDS = 3_600;
/** How long after an event was recorded its tally mark is kept… */
export const TALLY_MARK_MS = 24 * 3_600_000;
/** …and how many marks at most (about 120 bytes each in Redis). */
export const TALLY_MARKS_MAX = 250_000;
/**
 * Tallies a node holds while its counters cannot be written (a Cluster master down): past
 * these an owed tally is held as plain additions (its count kept, its mark not), so memory
 * stays bounded by the fields, and a duplicate's is let go.
 */
const TALLIES_HELD_MAX = 100_000;

/**
 * Adds a batch: its plain additions once (a retry with the same id after a lost reply finds
 * the marker and adds nothing), and each event's tally once, marked in a sorted set by the
 * time the event was recorded, trimmed by age and count. KEYS[4] holds the time up to which
 * marks may be missing (when marking began, or the newest mark trimmed for room): a tally
 * that is not owed is made only for an event recorded after it, where a missing mark means
 * never tallied. Every key shares the hash's tag: one Cluster slot. Answers the tallies made.
 * ARGV: marker TTL s, now, mark window ms, most marks, number of plain fields, (field, n)…,
 * then per tally: mark, recorded at, '1' when owed, number of fields, fields…
 */
const TALLY = `
local now = tonumber(ARGV[2])
local plain = tonumber(ARGV[5])
local i = 6 + 2 * plain
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  for j = 6, i - 1, 2 do redis.call('HINCRBY', KEYS[1], ARGV[j], ARGV[j + 1]) end
end
if i > #ARGV then return 0 end
redis.call('SET', KEYS[4], now, 'NX')
local oldest = now - tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', oldest)
local before = math.max(tonumber(redis.call('GET', KEYS[4])), oldest)
local made = 0
while i <= #ARGV do
  local n = tonumber(ARGV[i + 3])
  if not redis.call('ZSCORE', KEYS[3], ARGV[i]) and (ARGV[i + 2] == '1' or tonumber(ARGV[i + 1]) > before) then
    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
    for j = i + 4, i + 3 + n do redis.call('HINCRBY', KEYS[1], ARGV[j], 1) end
    made = made + 1
  end
  i = i + 4 + n
end
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if over > 0 then
  local last = redis.call('ZRANGE', KEYS[3], over - 1, over - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, over - 1)
  if tonumber(last[2]) > tonumber(redis.call('GET', KEYS[4])) then redis.call('SET', KEYS[4], last[2]) end
end
return made`;

interface Batch {
  readonly id: string;
  readonly entries: readonly (readonly [string, number])[];
  readonly tallies: readonly Tally[];
}

/** An event's mark: 96 bits of its id's digest, short whatever the id's length. */
const markOf = (id: string) => createHash('sha256').update(id).digest('base64url').slice(0, 16);

/**
 * Totals in one Redis hash shared by every node (`<prefix>{<name>}`; its batch markers and
 * tally marks share the hash tag, so one script touches one Cluster slot). Additions collect in
 * memory and are written once a second, off the request path; a batch whose write failed is
 * tried again as it was, under the same id, so it is added exactly once, and each event's
 * tally is added once whichever batch or node carries it. What is not written by a stop is
 * kept for the spool (backlog()) and written by the next start (restore()).
 */
export class RedisCounters implements Counters {
  private pending = new Map<string, number>();
  private pendingTallies: Tally[] = [];
  /** tallies pending or unconfirmed */
  private held = 0;
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
    /** how long after an event was recorded, and how many, tally marks are kept */
    private readonly marks = { ms: TALLY_MARK_MS, most: TALLY_MARKS_MAX },
  ) {
    lane.client.defineCommand('nextbestTally', { numberOfKeys: 4, lua: TALLY });
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  add(field: string, n = 1): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + n);
  }

  tally(t: Tally): void {
    if (t.fields.length === 0) return;
    if (this.held < TALLIES_HELD_MAX) {
      this.pendingTallies.push(t);
      this.held++;
    } else if (t.owed) for (const field of t.fields) this.add(field);
  }

  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** The pending additions as new batches, after the unconfirmed ones. */
  private cut(): void {
    const fresh = [...this.pending];
    const tallies = this.pendingTallies;
    this.pending = new Map();
    this.pendingTallies = [];
    let entries: (readonly [string, number])[] = [];
    let marked: Tally[] = [];
    let size = 0;
    const close = () => {
      if (entries.length + marked.length > 0) this.unconfirmed.push({ id: randomUUID(), entries, tallies: marked });
      entries = [];
      marked = [];
      size = 0;
    };
    for (const e of fresh) {
      entries.push(e);
      if (++size >= BATCH_FIELDS) close();
    }
    for (const t of tallies) {
      marked.push(t);
      size += t.fields.length + 1;
      if (size >= BATCH_FIELDS) close();
    }
    close();
  }

  private args(b: Batch): (string | number)[] {
    const args: (string | number)[] = [MARKER_SECONDS, Date.now(), this.marks.ms, this.marks.most, b.entries.length];
    for (const [field, n] of b.entries) args.push(field, n);
    for (const t of b.tallies) args.push(markOf(t.id), t.recordedAt, t.owed ? '1' : '0', t.fields.length, ...t.fields);
    return args;
  }

  private async write(): Promise<void> {
    if (!this.lane.health.available()) return;
    this.cut();
    const { client, health } = this.lane;
    const batches = this.unconfirmed;
    for (const b of batches) this.sending.add(b);
    const tallied = `${this.key}:tallied`;
    const results = await Promise.allSettled(
      batches.map((b) =>
        health.call('counters', () =>
          client.nextbestTally(this.key, `${this.key}:batch:${b.id}`, tallied, `${tallied}:before`, ...this.args(b)),
        ),
      ),
    );
    for (const b of batches) this.sending.delete(b);
    const failed = batches.filter((_, i) => results[i]!.status === 'rejected');
    for (const [i, b] of batches.entries()) if (results[i]!.status === 'fulfilled') this.held -= b.tallies.length;
    this.unconfirmed = [...failed, ...this.unconfirmed.slice(batches.length)];
    if (failed.length > 0)
      this.log.debug({ key: this.key, batches: failed.length }, 'counter writes failed; tried again next round');
  }

  /** Redis's totals plus what this node has not written, or not had confirmed, yet (tallies it owes). */
  async totals(): Promise<ReadonlyMap<string, number>> {
    const { client, health } = this.lane;
    // batches already sent are ahead of this read on the connection: Redis's totals include them
    const ahead = new Set(this.sending);
    const stored = await health.call('counters read', () => client.hgetall(this.key));
    const out = new Map<string, number>();
    for (const [field, v] of Object.entries(stored)) out.set(field, Number(v));
    const add = (field: string, n: number) => out.set(field, (out.get(field) ?? 0) + n);
    const owed = (tallies: readonly Tally[]) => {
      for (const t of tallies) if (t.owed) for (const field of t.fields) add(field, 1);
    };
    for (const b of this.unconfirmed) {
      if (ahead.has(b)) continue;
      for (const [field, n] of b.entries) add(field, n);
      owed(b.tallies);
    }
    for (const [field, n] of this.pending) add(field, n);
    owed(this.pendingTallies);
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  backlog(): CounterBacklog | undefined {
    this.cut();
    return this.unconfirmed.length > 0 ? { batches: this.unconfirmed } : undefined;
  }

  restore(backlog: CounterBacklog): void {
    this.unconfirmed.push(...backlog.batches);
    for (const b of backlog.batches) this.held += b.tallies.length;
  }
}
