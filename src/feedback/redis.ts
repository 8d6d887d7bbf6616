import type { Result } from 'ioredis';
import type { RecordResult, ResponseEvent } from './schema.js';
import { DEDUP_TTL_MS, HISTORY_MAX, type ResponseStore } from './store.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisHealth } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    nextbestRecordEvent(seenKey: string, eventsKey: string, ...args: (string | number)[]): Result<number, Context>;
  }
}

/** How long a customer's contact history outlives its last event. */
export const HISTORY_TTL_SECONDS = 400 * 24 * 3600;

/**
 * Marks the eventId and appends the event to the customer's history in one step, so a retry
 * after a lost reply is counted once. Both keys carry the customer's hash tag: one slot.
 */
const RECORD_EVENT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

/** Contact history in Redis: one stream per customer, `<prefix>{customerId}:events`. */
export class RedisResponseStore implements ResponseStore {
  readonly kind = 'redis';

  constructor(
    private readonly client: RedisClient,
    private readonly health: RedisHealth,
    private readonly keys: RedisKeys,
  ) {
    client.defineCommand('nextbestRecordEvent', { numberOfKeys: 2, lua: RECORD_EVENT });
  }

  available(): boolean {
    return this.health.available();
  }

  async record(events: readonly ResponseEvent[]): Promise<RecordResult> {
    const added = await this.health.call('response write', () =>
      Promise.all(
        events.map((e) =>
          this.client.nextbestRecordEvent(
            this.keys.seen(e.customerId, e.eventId),
            this.keys.events(e.customerId),
            DEDUP_TTL_MS, HISTORY_MAX, HISTORY_TTL_SECONDS,
            'eventId', e.eventId, 'offerId', e.offerId, 'outcome', e.outcome, 'channel', e.channel,
            'decisionId', e.decisionId ?? '', 'at', e.at,
          ),
        ),
      ),
    );
    const accepted = added.reduce((n: number, a) => n + a, 0);
    return { accepted, duplicates: events.length - accepted };
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    const entries = await this.health.call('history read', () => this.client.xrange(this.keys.events(customerId), '-', '+'));
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
