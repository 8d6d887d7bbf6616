import type { Result } from 'ioredis';
import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import type { ResponseEvent } from './schema.js';
import { DEDUP_MAX, DEDUP_TTL_MS, HISTORY_MAX, type ResponseStore, type WriteResult } from './store.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nextbestRecordEvent(seenKey: string, eventsKey: string, ...args: (string | number)[]): Result<number, Context>;
  }
}

/** How long a customer's contact history outlives its last event. */
export const HISTORY_TTL_SECONDS = 400 * 24 * 3600;

/**
 * Marks the eventId and appends the event to the customer's history in one step, so a retry
 * after a lost reply is counted once. The marks are a sorted set per customer (eventId by
 * time of receipt) trimmed by age and count, so they cannot outgrow the history they guard.
 * Both keys carry the customer's hash tag: one slot.
 * ARGV: now ms, dedup window ms, most marks, most history entries, TTL s, eventId, fields…
 */
const RECORD_EVENT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZADD', KEYS[1], 'NX', now, ARGV[6]) == 0 then return 0 end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if over > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1`;

/** Contact history in Redis: one stream per customer, `<prefix>{customerId}:events`. */
export class RedisResponseStore implements ResponseStore {
  readonly kind = 'redis';

  constructor(
    private readonly write: RedisLane,
    private readonly read: RedisLane,
    private readonly keys: RedisKeys,
  ) {
    write.client.defineCommand('nextbestRecordEvent', { numberOfKeys: 2, lua: RECORD_EVENT });
  }

  available(): boolean {
    return this.write.health.available();
  }

  /** Each event on its own: on a Cluster with a master down, the other masters' customers still go through. */
  async record(events: readonly ResponseEvent[]): Promise<WriteResult> {
    const { client, health } = this.write;
    const now = Date.now();
    const results = await Promise.allSettled(
      events.map((e) =>
        health.call('response write', () =>
          client.nextbestRecordEvent(
            this.keys.seen(e.customerId),
            this.keys.events(e.customerId),
            now, DEDUP_TTL_MS, DEDUP_MAX, HISTORY_MAX, HISTORY_TTL_SECONDS, e.eventId,
            'eventId', e.eventId, 'offerId', e.offerId, 'outcome', e.outcome, 'channel', e.channel,
            'decisionId', e.decisionId ?? '', 'at', e.at,
          ),
        ),
      ),
    );
    let accepted = 0;
    const failed: ResponseEvent[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') failed.push(events[i]!);
      else accepted += r.value;
    });
    return { accepted, duplicates: events.length - accepted - failed.length, failed };
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    const { client, health } = this.read;
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
}
