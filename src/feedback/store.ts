import { LRUCache } from 'lru-cache';
import type { RecordResult, ResponseEvent } from './schema.js';

export interface WriteResult extends RecordResult {
  /** events that could not be written (and may be tried again: duplicates are recognised) */
  readonly failed: readonly ResponseEvent[];
}

/** Where response events go: the contact history of each customer, deduplicated by eventId. */
export interface ResponseStore {
  readonly kind: string;
  /** Stores the events not seen before; those it could not write come back in `failed`. */
  record(events: readonly ResponseEvent[]): Promise<WriteResult>;
  /** The customer's stored events, oldest first. */
  history(customerId: string): Promise<ResponseEvent[]>;
  /** false while writes would fail at once (Redis down, circuit open); events then wait in the buffer */
  available(): boolean;
}

/** How long an eventId is remembered for deduplication. */
export const DEDUP_TTL_MS = 7 * 24 * 3600_000;
/** The newest events kept per customer. */
export const HISTORY_MAX = 1_000;
/** The most eventIds remembered per customer (within DEDUP_TTL_MS). */
export const DEDUP_MAX = 2 * HISTORY_MAX;

/** The embedded default: history per customer and recently seen eventIds, in this process. */
export class MemoryResponseStore implements ResponseStore {
  readonly kind = 'memory';
  private readonly seen = new LRUCache<string, true>({ max: 1_000_000, ttl: DEDUP_TTL_MS });
  private readonly histories = new LRUCache<string, ResponseEvent[]>({ max: 1_000_000 });

  async record(events: readonly ResponseEvent[]): Promise<WriteResult> {
    let duplicates = 0;
    for (const e of events) {
      const key = `${e.customerId}\n${e.eventId}`;
      if (this.seen.has(key)) {
        duplicates++;
        continue;
      }
      this.seen.set(key, true);
      let history = this.histories.get(e.customerId);
      if (!history) this.histories.set(e.customerId, (history = []));
      history.push(e);
      if (history.length > HISTORY_MAX) history.splice(0, history.length - HISTORY_MAX);
    }
    return { accepted: events.length - duplicates, duplicates, failed: [] };
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    return [...(this.histories.get(customerId) ?? [])];
  }

  available(): boolean {
    return true;
  }
}
