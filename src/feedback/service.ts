import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ContactStore, ResponseEvent, WriteResult } from '../contacts/store.js';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { RecordResult, ResponseEventInput } from './schema.js';

export interface ResponseReceipt {
  readonly accepted: number;
  readonly duplicates: number;
  /** of the accepted, how many wait in memory for the store to come back */
  readonly buffered: number;
}

export interface ResponseServiceOptions {
  /** how long close() keeps trying to write the buffer out */
  readonly closeWaitMs?: number;
  /** told of every event stored for the first time (learning, reports) */
  readonly onStored?: (events: readonly ResponseEvent[]) => void;
}

const FLUSH_BATCH = 500;
const RETRY_MS = 250;

/**
 * Takes response events in. Events the store cannot write wait in a bounded in-memory queue
 * and are written, oldest first, when it can (202, `buffered`); when the queue has no room
 * for them, the request is refused with 503 and Retry-After, saying what was recorded.
 * An event is never acknowledged and then dropped, short of the process stopping while the
 * store stays unavailable for the whole of close().
 */
export class ResponseService {
  private queue: ResponseEvent[] = [];
  /** taken from the queue by a flush that has not finished */
  private inFlight = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** events a write was tried for and failed: maybe applied after all */
  private readonly attempted = new WeakSet<ResponseEvent>();
  private readonly closeWaitMs: number;
  private readonly onStored: (events: readonly ResponseEvent[]) => void;

  constructor(
    private readonly store: ContactStore,
    private readonly capacity: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    options: ResponseServiceOptions = {},
  ) {
    this.closeWaitMs = options.closeWaitMs ?? 5_000;
    this.onStored = options.onStored ?? (() => {});
    metrics.gauge(
      'nextbest_response_buffer_events',
      'Response events waiting in memory for the store',
      () => this.buffered,
    );
  }

  get buffered(): number {
    return this.queue.length + this.inFlight;
  }

  /** `requestId` names the request in the log lines about it. */
  async record(inputs: readonly ResponseEventInput[], requestId?: string): Promise<ResponseReceipt> {
    const now = Date.now();
    const events = inputs.map(
      (e): ResponseEvent => ({
        eventId: e.eventId ?? randomUUID(),
        customerId: e.customerId,
        offerId: e.offerId,
        outcome: e.outcome,
        channel: e.channel,
        decisionId: e.decisionId,
        at: e.at === undefined ? now : Date.parse(e.at),
      }),
    );
    // while some wait, later events queue behind them; each carries its own time either way
    if (this.buffered > 0 || !this.store.available())
      return this.enqueue(events, events.length, { accepted: 0, duplicates: 0 });
    const result = await this.write(events, requestId);
    if (result.failed.length === 0) return { accepted: result.accepted, duplicates: result.duplicates, buffered: 0 };
    this.log.warn({ events: result.failed.length, requestId }, 'response events could not be stored; buffering');
    return this.enqueue(result.failed, events.length, result);
  }

  /**
   * A store that throws is a store that wrote nothing. A write that failed may still have been
   * applied (a timeout after Redis ran the script): when such an event comes back as a duplicate
   * on a later attempt, it was this service's own write, so it is learned and counted then.
   */
  private async write(events: readonly ResponseEvent[], requestId?: string): Promise<WriteResult> {
    let result: WriteResult;
    try {
      result = await this.store.record(events);
    } catch {
      result = { accepted: 0, duplicates: 0, stored: [], failed: events };
    }
    const stored = new Set(result.stored);
    const failed = new Set(result.failed);
    const ours = events.filter((e) => this.attempted.has(e) && !stored.has(e) && !failed.has(e));
    if (ours.length > 0)
      result = {
        ...result,
        accepted: result.accepted + ours.length,
        duplicates: result.duplicates - ours.length,
        stored: [...result.stored, ...ours],
      };
    for (const e of result.failed) this.attempted.add(e);
    if (result.stored.length > 0) {
      try {
        this.onStored(result.stored);
      } catch (err) {
        // the events are stored: a fault in learning or reporting must not turn that into an error
        this.log.error({ err, requestId }, 'could not learn from stored response events');
      }
    }
    this.count('stored', result.accepted);
    this.count('duplicate', result.duplicates);
    return result;
  }

  private enqueue(events: readonly ResponseEvent[], total: number, done: RecordResult): ResponseReceipt {
    if (this.buffered + events.length > this.capacity) {
      this.count('refused', events.length);
      const recorded = done.accepted + done.duplicates;
      const full =
        this.capacity === 0
          ? 'the response store is unavailable'
          : `the response store is unavailable and the buffer is full (${this.buffered} of ${this.capacity} events)`;
      const what =
        recorded === 0
          ? 'nothing was recorded; retry later'
          : `${recorded} of ${total} events were recorded and ${events.length} were not; send the request again with the same eventIds (recorded ones then count as duplicates)`;
      throw new ApiError('unavailable', `${full}: ${what}`, undefined, 1);
    }
    this.queue.push(...events);
    this.count('buffered', events.length);
    this.schedule(RETRY_MS);
    return { accepted: done.accepted + events.length, duplicates: done.duplicates, buffered: events.length };
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

  /** Writes the queue out, oldest first; what fails stays at the head and is tried again later. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule(RETRY_MS);
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const taken = this.queue.splice(0);
    this.inFlight = taken.length;
    const failed: ResponseEvent[] = [];
    let written = 0;
    try {
      for (let i = 0; i < taken.length; i += FLUSH_BATCH) {
        const batch = taken.slice(i, i + FLUSH_BATCH);
        // once the store says it is down, keep the rest for the next attempt
        const left = this.store.available() ? (await this.write(batch)).failed : batch;
        failed.push(...left);
        written += batch.length - left.length;
        this.inFlight = taken.length - written;
      }
    } finally {
      this.inFlight = 0;
      this.queue = failed.concat(this.queue);
    }
    if (failed.length === 0 && taken.length > 0 && this.queue.length === 0)
      this.log.info({ events: taken.length }, 'buffered response events written');
  }

  /** At shutdown: keeps trying for a few seconds; returns how many events could not be written. */
  async close(): Promise<number> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const until = Date.now() + this.closeWaitMs;
    await this.flush();
    while (this.buffered > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await this.flush();
    }
    if (this.buffered > 0)
      this.log.error({ events: this.buffered }, 'response events still buffered at shutdown are lost');
    return this.buffered;
  }
}
