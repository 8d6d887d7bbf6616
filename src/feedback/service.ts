import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { ResponseEventInput, ResponseEvent } from './schema.js';
import type { ResponseStore } from './store.js';

export interface ResponseReceipt {
  readonly accepted: number;
  readonly duplicates: number;
  /** of the accepted, how many wait in memory for the store to come back */
  readonly buffered: number;
}

const FLUSH_BATCH = 500;
const RETRY_MS = 250;

/**
 * Takes response events in. When the store fails, events wait in a bounded in-memory queue
 * and are written, in order, when it returns (202, `buffered`); when the queue has no room
 * for the whole request, nothing of it is taken and the caller gets 503 with Retry-After.
 * An event is never acknowledged and then dropped (short of the process dying).
 */
export class ResponseService {
  private queue: ResponseEvent[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: ResponseStore,
    private readonly capacity: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    metrics.gauge('nextbest_response_buffer_events', 'Response events waiting in memory for the store', () => this.queue.length);
  }

  get buffered(): number {
    return this.queue.length;
  }

  async record(inputs: readonly ResponseEventInput[]): Promise<ResponseReceipt> {
    const now = Date.now();
    const events = inputs.map((e): ResponseEvent => ({
      eventId: e.eventId ?? randomUUID(),
      customerId: e.customerId,
      offerId: e.offerId,
      outcome: e.outcome,
      channel: e.channel,
      decisionId: e.decisionId,
      at: e.at === undefined ? now : Date.parse(e.at),
    }));
    // while some wait, later events queue behind them; each carries its own time either way
    if (this.queue.length === 0 && this.store.available()) {
      try {
        const result = await this.store.record(events);
        this.count('stored', result.accepted);
        this.count('duplicate', result.duplicates);
        return { ...result, buffered: 0 };
      } catch (err) {
        this.log.warn({ err: (err as Error).message, events: events.length }, 'response events could not be stored; buffering');
      }
    }
    return this.enqueue(events);
  }

  private enqueue(events: ResponseEvent[]): ResponseReceipt {
    if (this.queue.length + events.length > this.capacity) {
      this.count('refused', events.length);
      throw new ApiError(
        'unavailable',
        this.capacity === 0
          ? 'the response store is unavailable; nothing was recorded, retry later'
          : `the response store is unavailable and the buffer is full (${this.queue.length} of ${this.capacity} events); nothing was recorded, retry later`,
        undefined,
        1,
      );
    }
    this.queue.push(...events);
    this.count('buffered', events.length);
    this.schedule(RETRY_MS);
    return { accepted: events.length, duplicates: 0, buffered: events.length };
  }

  private count(result: string, n: number): void {
    if (n > 0) this.metrics.responseEvents.slot(result).n += n;
  }

  private schedule(ms: number): void {
    if (this.timer || this.flushing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  /** Writes the queue out, oldest first; stops at the first failure and tries again later. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule(RETRY_MS);
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (!this.store.available()) return;
      const batch = this.queue.slice(0, FLUSH_BATCH);
      try {
        const result = await this.store.record(batch);
        this.count('stored', result.accepted);
        this.count('duplicate', result.duplicates);
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'buffered response events still cannot be stored');
        return;
      }
      this.queue.splice(0, batch.length);
      if (this.queue.length === 0) this.log.info('buffered response events written');
    }
  }

  /** At shutdown: one last attempt; reports what could not be written. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    if (this.queue.length > 0) this.log.error({ events: this.queue.length }, 'response events still buffered at shutdown are lost');
  }
}
