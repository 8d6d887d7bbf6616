import { Cluster, type Result } from 'ioredis';
import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import {
  type ContactState,
  countField,
  dayOf,
  holdField,
  type InteractionMark,
  interactionField,
  journeyField,
  lastField,
  type OutboundWrite,
  oldestDay,
  PRUNE_ALWAYS_AT_FIELDS,
  PRUNE_AT_FIELDS,
  PRUNE_EVERY_MS,
  type Presented,
  parseContactFields,
  parseContacts,
  RUN_RETENTION_MS,
  runField,
} from './state.js';
import {
  type ContactStore,
  DEDUP_MAX,
  DEDUP_TTL_MS,
  type EarlierRecord,
  HISTORY_MAX,
  type LearningAsk,
  type ResponseEvent,
  successMark,
  trialMark,
  type WriteResult,
} from './store.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nextbestRecordEvent(
      seen: string,
      events: string,
      contacts: string,
      ...args: (string | number)[]
    ): Result<number[], Context>;
    nextbestPresent(contacts: string, ...args: (string | number)[]): Result<number, Context>;
    nextbestSend(contacts: string, ...args: (string | number)[]): Result<number, Context>;
  }
}

/** How long a customer's contact history and state outlive the last write. */
export const HISTORY_TTL_SECONDS = 400 * 24 * 3600;

/**
 * Drops expired holds, day buckets past retention and run marks past RUN_RETENTION_MS once the
 * hash has grown: every few minutes, or at once when flooded; journey fields stay (see state.ts).
 */
const PRUNE = `
local function prune(key, now, pruneAt, oldestDay, every, alwaysAt)
  local size = redis.call('HLEN', key)
  if size < pruneAt then return end
  if size < alwaysAt and now - tonumber(redis.call('HGET', key, 'p') or '0') < every then return end
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local f, kind = all[i], string.sub(all[i], 1, 2)
    if (kind == 'h|' or kind == 'i|') and tonumber(all[i + 1]) <= now then redis.call('HDEL', key, f)
    elseif kind == 'n|' then
      local day = tonumber(string.match(f, '|(%d+)$'))
      if day and day < oldestDay then redis.call('HDEL', key, f) end
    elseif kind == 'o|' and tonumber(all[i + 1]) < now - ${RUN_RETENTION_MS} then redis.call('HDEL', key, f)
    end
  end
  redis.call('HSET', key, 'p', now)
end
`;

/**
 * One event in one step: marks the eventId (a sorted set per customer, trimmed by age and
 * count), appends to the history stream and updates the contact state, so a retry after a
 * lost reply is counted once. Every key carries the customer's hash tag: one slot. Then the
 * learning marks, in the same set: the decision × offer's trial mark when asked for (bit 1 of
 * the answer's learned part), its success mark when asked for and the trial is marked (bit 2).
 * What was learned is kept in the eventId's score, as quarters above the time (markValue in
 * store.ts), so a duplicate answers when it was recorded and what it counted.
 * Answers {1, learned} for an event recorded now, {0, learned, recorded at} for a duplicate.
 * ARGV: now, dedup window ms, most marks, most history entries, TTL s, eventId, count field
 * ('' when its day is past retention), last field, at, hold field ('' for none), prune
 * threshold, oldest day, prune interval ms, flood threshold, trial mark ('' without a
 * decision), '1' to mark the trial, success mark ('' for none), stream fields…
 */
const RECORD_EVENT = `${PRUNE}
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZADD', KEYS[1], 'NX', now, ARGV[6]) == 0 then
  local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[6]))
  local at = math.floor(score)
  return {0, math.floor((score - at) * 4 + 0.5), at}
end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if over > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 18))
if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[7], 1) end
local last = tonumber(redis.call('HGET', KEYS[3], ARGV[8]) or '-1')
if tonumber(ARGV[9]) > last then redis.call('HSET', KEYS[3], ARGV[8], ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HDEL', KEYS[3], ARGV[10]) end
redis.call('HINCRBY', KEYS[3], 'v', 1)
prune(KEYS[3], now, tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]))
local learned = 0
if ARGV[15] ~= '' then
  if ARGV[16] == '1' and redis.call('ZADD', KEYS[1], 'NX', now, ARGV[15]) == 1 then learned = 1 end
  if ARGV[17] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[15]) and redis.call('ZADD', KEYS[1], 'NX', now, ARGV[17]) == 1 then learned = learned + 2 end
end
if learned > 0 then redis.call('ZADD', KEYS[1], 'XX', now + learned / 4, ARGV[6]) end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
return {1, learned}`;

/**
 * What a decision presents, applied only if nobody wrote the customer's contact state since
 * the decision read it (optimistic concurrency): 1 applied, 0 moved on.
 * ARGV: expected version, now, TTL s, prune threshold, oldest day, prune interval ms, flood threshold,
 * then (op, field, value)…
 */
const PRESENT = `${PRUNE}
if tonumber(redis.call('HGET', KEYS[1], 'v') or '0') ~= tonumber(ARGV[1]) then return 0 end
for i = 8, #ARGV, 3 do
  if ARGV[i] == 'incr' then redis.call('HINCRBY', KEYS[1], ARGV[i + 1], 1) else redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2]) end
end
redis.call('HINCRBY', KEYS[1], 'v', 1)
prune(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * What an outbound run sent a customer (applySent in state.ts is its twin), unless the run has
 * written the customer before: 1 written, 0 already there (nothing changes).
 * ARGV: run field, at, now, TTL s, prune threshold, oldest day, prune interval ms, flood
 * threshold, then (op, field, value)… in order: 'incr' adds 1, 'max' sets when later, 'set', 'del'.
 */
const SEND = `${PRUNE}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
for i = 9, #ARGV, 3 do
  local op, f = ARGV[i], ARGV[i + 1]
  if op == 'incr' then redis.call('HINCRBY', KEYS[1], f, 1)
  elseif op == 'max' then
    if tonumber(ARGV[i + 2]) > tonumber(redis.call('HGET', KEYS[1], f) or '-1') then redis.call('HSET', KEYS[1], f, ARGV[i + 2]) end
  elseif op == 'set' then redis.call('HSET', KEYS[1], f, ARGV[i + 2])
  else redis.call('HDEL', KEYS[1], f) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], 'v', 1)
prune(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

/** Contact history (`{c}:events`), dedup marks (`{c}:seen`) and contact state (`{c}:contacts`) in Redis. */
export class RedisContactStore implements ContactStore {
  readonly kind = 'redis';

  constructor(
    private readonly writeLane: RedisLane,
    private readonly readLane: RedisLane,
    private readonly keys: RedisKeys,
    /** days of contact buckets to keep: the longest window of the loaded policies */
    private readonly retentionDays: () => number,
  ) {
    writeLane.client.defineCommand('nextbestRecordEvent', { numberOfKeys: 3, lua: RECORD_EVENT });
    readLane.client.defineCommand('nextbestPresent', { numberOfKeys: 1, lua: PRESENT });
    writeLane.client.defineCommand('nextbestSend', { numberOfKeys: 1, lua: SEND });
  }

  available(): boolean {
    return this.writeLane.health.available();
  }

  /** Each event on its own: on a Cluster with a master down, the other masters' customers still go through. */
  async record(
    events: readonly ResponseEvent[],
    asks: readonly (LearningAsk | undefined)[] = [],
  ): Promise<WriteResult> {
    const { client, health } = this.writeLane;
    const now = Date.now();
    const oldest = oldestDay(now, this.retentionDays());
    const results = await Promise.allSettled(
      events.map((e, i) => {
        const ask = e.decisionId === undefined ? undefined : asks[i];
        return health.call('response write', () =>
          // biome-ignore format: the arguments grouped as the script reads them
          client.nextbestRecordEvent(
            this.keys.seen(e.customerId), this.keys.events(e.customerId), this.keys.contacts(e.customerId),
            now, DEDUP_TTL_MS, DEDUP_MAX, HISTORY_MAX, HISTORY_TTL_SECONDS, e.eventId,
            dayOf(e.at) >= oldest ? countField(e.outcome, e.channel, e.offerId, dayOf(e.at)) : '', lastField(e.outcome, e.channel, e.offerId), e.at,
            e.outcome === 'impression' && e.decisionId !== undefined ? holdField(e.channel, e.offerId, e.decisionId) : '',
            PRUNE_AT_FIELDS, oldest, PRUNE_EVERY_MS, PRUNE_ALWAYS_AT_FIELDS,
            ask ? trialMark(e.decisionId!, e.offerId) : '', ask?.trial ? '1' : '0', ask?.success ? successMark(e.decisionId!, e.offerId) : '',
            'eventId', e.eventId, 'offerId', e.offerId, 'outcome', e.outcome, 'channel', e.channel,
            'decisionId', e.decisionId ?? '', 'at', e.at,
          ),
        );
      }),
    );
    const stored: ResponseEvent[] = [];
    const learned: number[] = [];
    const failed: ResponseEvent[] = [];
    const earlier: EarlierRecord[] = [];
    results.forEach((r, i) => {
      const event = events[i]!;
      if (r.status === 'rejected') failed.push(event);
      else if (r.value[0] === 1) {
        stored.push(event);
        learned.push(Number(r.value[1]));
      } else earlier.push({ event, learned: Number(r.value[1]), recordedAt: Number(r.value[2]) });
    });
    return {
      accepted: stored.length,
      duplicates: earlier.length,
      stored,
      learned,
      failed,
      recordedAt: now,
      earlier,
    };
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    const { client, health } = this.readLane;
    const entries = await health.call('history read', () => client.xrange(this.keys.events(customerId), '-', '+'));
    return entries.map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      return {
        eventId: f.eventId!,
        customerId,
        offerId: f.offerId!,
        outcome: f.outcome as ResponseEvent['outcome'],
        channel: f.channel!,
        decisionId: f.decisionId || undefined,
        at: Number(f.at),
      };
    });
  }

  /**
   * On the decision path: the read lane's deadline. The command named in capitals, so that
   * ioredis hands back HGETALL's flat reply instead of building an object of it to be taken apart.
   */
  async read(customerId: string): Promise<ContactState> {
    const { client, health } = this.readLane;
    const key = this.keys.contacts(customerId);
    const reply = await health.call('contacts read', () => client.call('HGETALL', key));
    // anything but the flat list (another client version, RESP3) fails the read rather than reading as no contacts
    if (!Array.isArray(reply)) throw health.failure('contacts read', new Error('HGETALL answered no list'));
    return parseContactFields(reply as string[]);
  }

  /**
   * Also on the decision path, when it presents capped offers: on the read connection, which
   * carries nothing bulky, with its deadline. A reservation that times out may still have been
   * applied; the decision then holds the offers back, so the error is on the side of less contact.
   */
  async reserve(
    customerId: string,
    version: number,
    decisionId: string,
    presented: readonly Presented[],
    now: number,
    interaction?: InteractionMark,
  ): Promise<boolean> {
    const { client, health } = this.readLane;
    const ops: (string | number)[] = [];
    for (const p of presented) {
      if (p.decision) ops.push('incr', countField('decision', p.channel, p.offerId, dayOf(now)), 1);
      if (p.holdUntil !== undefined) ops.push('set', holdField(p.channel, p.offerId, decisionId), p.holdUntil);
    }
    if (interaction) ops.push('set', interactionField({ ...interaction, decisionId }), interaction.expiresAt);
    const applied = await health.call('contacts present', () =>
      client.nextbestPresent(
        this.keys.contacts(customerId),
        version,
        now,
        HISTORY_TTL_SECONDS,
        PRUNE_AT_FIELDS,
        oldestDay(now, this.retentionDays()),
        PRUNE_EVERY_MS,
        PRUNE_ALWAYS_AT_FIELDS,
        ...ops,
      ),
    );
    return applied === 1;
  }

  /** An outbound run's write: on the write lane, whose deadline suits a batch job and whose failures leave the decisions' read circuit alone. */
  async send(customerId: string, write: OutboundWrite): Promise<boolean> {
    const { client, health } = this.writeLane;
    const now = Date.now();
    const oldest = oldestDay(now, this.retentionDays());
    const day = dayOf(write.at);
    const ops: (string | number)[] = [];
    for (const s of write.sent) {
      if (day >= oldest)
        ops.push(
          'incr',
          countField('decision', s.channel, s.offerId, day),
          1,
          'incr',
          countField('impression', s.channel, s.offerId, day),
          1,
        );
      ops.push('max', lastField('impression', s.channel, s.offerId), write.at);
    }
    for (const [key, value] of write.journeys) ops.push('set', journeyField(key), value);
    for (const key of write.dropJourneys) ops.push('del', journeyField(key), '');
    const written = await health.call('contacts send', () =>
      // biome-ignore format: the arguments grouped as the script reads them
      client.nextbestSend(
        this.keys.contacts(customerId),
        runField(write.runKey), write.at, now, HISTORY_TTL_SECONDS,
        PRUNE_AT_FIELDS, oldest, PRUNE_EVERY_MS, PRUNE_ALWAYS_AT_FIELDS,
        ...ops,
      ),
    );
    return written === 1;
  }

  /**
   * An outbound run's batch, on the write lane like send. One pipeline on a single node; on a
   * Cluster each customer on its own, auto-pipelined per node, so a master down gives undefined
   * for its customers only. Throws when no state could be read (Redis down).
   */
  async readMany(customerIds: readonly string[]): Promise<(ContactState | undefined)[]> {
    const { client, health } = this.writeLane;
    if (customerIds.length === 0) return [];
    let replies: PromiseSettledResult<Record<string, string>>[];
    if (client instanceof Cluster)
      replies = await Promise.allSettled(
        customerIds.map((id) => health.call('contacts read', () => client.hgetall(this.keys.contacts(id)))),
      );
    else {
      const pipeline = client.pipeline();
      for (const id of customerIds) pipeline.hgetall(this.keys.contacts(id));
      const results = await health.call('contacts read', async () => (await pipeline.exec()) ?? []);
      replies = customerIds.map((_, i) => {
        const [err, fields] = results[i] ?? [new Error('no reply')];
        // counted like any failed call
        return err
          ? { status: 'rejected', reason: health.failure('contacts read', err) }
          : { status: 'fulfilled', value: fields as Record<string, string> };
      });
    }
    const failed = replies.find((r) => r.status === 'rejected');
    if (failed && replies.every((r) => r.status === 'rejected')) throw failed.reason;
    return replies.map((r) => (r.status === 'fulfilled' ? parseContacts(Object.entries(r.value)) : undefined));
  }
}
