import type { Logger } from 'pino';
import type { ContactStore, LearningAsk, ResponseEvent, WriteResult } from '../contacts/store.js';
import type { DecisionLog, IssuedDecision } from '../decision-log/store.js';
import { ApiError, type FieldError } from '../errors.js';
import { positiveOutcome } from '../learning/state.js';
import { newId } from '../math/ids.js';
import type { Metrics } from '../ops/metrics.js';
import type { RecordResult, ResponseEventInput } from './schema.js';

export interface ResponseReceipt {
  readonly accepted: number;
  readonly duplicates: number;
  /** of the accepted, how many wait in memory for the store to come back */
  readonly buffered: number;
}

/** An event the store holds, with what it counted for learning and the decision it names. */
export interface StoredResponse {
  readonly event: ResponseEvent;
  /** LEARNED_TRIAL and LEARNED_SUCCESS bits (contacts/store.ts) */
  readonly learned: number;
  /** the decision the event names, as logged; undefined for an event that names none */
  readonly decision: IssuedDecision | undefined;
  /** when the store recorded it (epoch ms) */
  readonly recordedAt: number;
  /**
   * Recorded by this service: now, or by an earlier write whose answer was lost. False for a
   * duplicate of an event recorded elsewhere, told so that a tally still owed for it is made
   * (tallies are idempotent per event).
   */
  readonly owed: boolean;
}

/** An event taken in and not yet confirmed written, as a stop leaves it for the next start. */
export interface UnwrittenResponse {
  readonly event: ResponseEvent;
  /** the decision it names, when already verified */
  readonly decision?: IssuedDecision | undefined;
  /** a write was sent for it without an answer: it may be recorded already */
  readonly attempted: boolean;
}

export interface ResponseServiceOptions {
  /** how long close() keeps trying to write the buffer out */
  readonly closeWaitMs?: number;
  /** the outcome that counts as a success on a channel: the active rule set's learning */
  readonly positive?: (channel: string) => string;
  /** told of every event written and of every duplicate (learning, reports: tallies are made once per event) */
  readonly onStored?: (stored: readonly StoredResponse[]) => void;
}

/** Outcomes that prove an offer was presented: each may bring its decision × offer's trial. */
const PRESENTED: ReadonlySet<string> = new Set(['impression', 'accept', 'reject', 'complaint']);

/** Where a refusal points: the field of the event, given its index in the request. */
export type EventPath = (index: number, field: string) => string;

const FLUSH_BATCH = 500;
const NOTHING: RecordResult = { accepted: 0, duplicates: 0 };
const RETRY_MS = 250;

/**
 * Takes response events in. An event that names a decision must belong to it: a decision this
 * service made for that customer within the response window, not a preview, which presented
 * that offer on that channel; otherwise the whole request is refused (422 decision_mismatch)
 * and nothing is recorded. Events the store cannot write wait in a bounded in-memory queue
 * and are written, oldest first, when it can (202, `buffered`); when the queue has no room
 * for them, the request is refused with 503 and Retry-After, saying what was recorded.
 * An event is never acknowledged and then dropped, short of the decision it names turning out,
 * once it can be looked up, not to be one this service made (counted as refused): what close()
 * cannot write is handed over (unwritten()) for the next start to take back (restore()).
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
  /** the decision each event names, once looked up; an event that names one and is absent here is not verified yet */
  private readonly decisionOf = new WeakMap<ResponseEvent, IssuedDecision>();
  private readonly closeWaitMs: number;
  private readonly positive: (channel: string) => string;
  private readonly onStored: (stored: readonly StoredResponse[]) => void;

  constructor(
    private readonly store: ContactStore,
    /** where the decisions events name are found */
    private readonly decisions: Pick<DecisionLog, 'find'>,
    private readonly capacity: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    options: ResponseServiceOptions = {},
  ) {
    this.closeWaitMs = options.closeWaitMs ?? 5_000;
    this.positive = options.positive ?? ((channel) => positiveOutcome(undefined, channel));
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

  /**
   * `requestId` names the request in the log lines about it; `path` words where a refusal
   * points (default `/<index>/<field>`).
   */
  async record(
    inputs: readonly ResponseEventInput[],
    requestId?: string,
    path: EventPath = (i, field) => `/${i}/${field}`,
  ): Promise<ResponseReceipt> {
    const now = Date.now();
    const events = inputs.map(
      (e): ResponseEvent => ({
        eventId: e.eventId ?? newId(),
        customerId: e.customerId,
        offerId: e.offerId,
        outcome: e.outcome,
        channel: e.channel,
        decisionId: e.decisionId,
        at: e.at === undefined ? now : Date.parse(e.at),
      }),
    );
    // unverifiable now (Redis away): they wait, and are checked before they are written
    if ((await this.verify(events, path)) === 'unverified') return this.enqueue(events, events.length, NOTHING);
    // while some wait, later events queue behind them; each carries its own time either way
    if (this.buffered > 0 || !this.store.available()) return this.enqueue(events, events.length, NOTHING);
    const result = await this.write(events, requestId);
    if (result.failed.length === 0) return { accepted: result.accepted, duplicates: result.duplicates, buffered: 0 };
    this.log.warn({ events: result.failed.length, requestId }, 'response events could not be stored; buffering');
    return this.enqueue(result.failed, events.length, result);
  }

  /**
   * A store that throws is a store that wrote nothing. A write that failed may still have been
   * applied (a timeout after Redis ran the script): when such an event comes back as a duplicate
   * on a later attempt, it was most likely this service's own write, so it counts as accepted
   * and its tallies are owed, with what the store says it counted for learning. Every duplicate
   * is told on, so that a tally still owed anywhere is made; tallies are made once per event.
   */
  private async write(events: readonly ResponseEvent[], requestId?: string): Promise<WriteResult> {
    let result: WriteResult;
    try {
      result = await this.store.record(
        events,
        events.map((e) => this.ask(e)),
      );
    } catch {
      result = {
        accepted: 0,
        duplicates: 0,
        stored: [],
        learned: [],
        failed: events,
        recordedAt: Date.now(),
        earlier: [],
      };
    }
    const ours = result.earlier.filter((r) => this.attempted.has(r.event)).length;
    if (ours > 0) result = { ...result, accepted: result.accepted + ours, duplicates: result.duplicates - ours };
    for (const e of result.failed) this.attempted.add(e);
    const told: StoredResponse[] = result.stored.map((event, i) => ({
      event,
      learned: result.learned[i] ?? 0,
      decision: this.decisionOf.get(event),
      recordedAt: result.recordedAt,
      owed: true,
    }));
    for (const { event, learned, recordedAt } of result.earlier)
      told.push({ event, learned, decision: this.decisionOf.get(event), recordedAt, owed: this.attempted.has(event) });
    if (told.length > 0) {
      try {
        this.onStored(told);
      } catch (err) {
        // the events are stored: a fault in learning or reporting must not turn that into an error
        this.log.error({ err, requestId }, 'could not learn from stored response events');
      }
    }
    this.count('stored', result.accepted);
    this.count('duplicate', result.duplicates);
    return result;
  }

  /**
   * A buffered batch without the events whose decisions turn out not to fit (counted as refused):
   * they were taken while the decisions could not be looked up. Undefined while they still cannot.
   */
  private async verified(batch: readonly ResponseEvent[]): Promise<readonly ResponseEvent[] | undefined> {
    try {
      await this.check(batch, (i, field) => `/${i}/${field}`);
    } catch {
      return undefined;
    }
    const fits = batch.filter((e) => e.decisionId === undefined || this.decisionOf.has(e));
    if (fits.length < batch.length) {
      this.count('refused', batch.length - fits.length);
      this.log.warn(
        { events: batch.length - fits.length },
        'buffered response events name decisions this service did not make for their customer; dropped',
      );
    }
    return fits;
  }

  /** What an event may count for learning: only an event whose decision was verified. */
  private ask(e: ResponseEvent): LearningAsk | undefined {
    if (!this.decisionOf.has(e)) return undefined;
    return { trial: PRESENTED.has(e.outcome), success: e.outcome === this.positive(e.channel) };
  }

  /**
   * Looks up the decisions the events name (one look-up per customer, all at once) and refuses
   * the request when one does not fit; 'unverified' when they cannot be looked up now.
   */
  private async verify(events: readonly ResponseEvent[], path: EventPath): Promise<'verified' | 'unverified'> {
    let problems: FieldError[];
    try {
      problems = await this.check(events, path);
    } catch {
      return 'unverified';
    }
    if (problems.length > 0) {
      this.count('refused', events.length);
      throw new ApiError(
        'decision_mismatch',
        'responses must belong to a decision this service made for their customer, presenting that offer on that channel; nothing was recorded',
        problems,
      );
    }
    return 'verified';
  }

  /** The events' problems with the decisions they name; the decisions found are kept for learning. Throws when the look-up fails. */
  private async check(events: readonly ResponseEvent[], path: EventPath): Promise<FieldError[]> {
    const byCustomer = new Map<string, string[]>();
    for (const e of events) {
      if (e.decisionId === undefined || this.decisionOf.has(e)) continue;
      const ids = byCustomer.get(e.customerId) ?? byCustomer.set(e.customerId, []).get(e.customerId)!;
      if (!ids.includes(e.decisionId)) ids.push(e.decisionId);
    }
    if (byCustomer.size === 0) return [];
    const found = new Map<string, ReadonlyMap<string, IssuedDecision>>();
    await Promise.all(
      [...byCustomer].map(async ([customerId, ids]) =>
        found.set(customerId, await this.decisions.find(customerId, ids)),
      ),
    );
    const problems: FieldError[] = [];
    events.forEach((e, i) => {
      if (e.decisionId === undefined || this.decisionOf.has(e)) return;
      const d = found.get(e.customerId)?.get(e.decisionId);
      if (d === undefined || d.preview) {
        const why = d?.preview
          ? 'is an explain preview, which reached no customer'
          : `is not a decision this service made for customer "${e.customerId}" in the response window`;
        problems.push({ path: path(i, 'decisionId'), message: `"${e.decisionId}" ${why}` });
      } else if (d.channel !== e.channel) {
        problems.push({ path: path(i, 'channel'), message: `decision "${e.decisionId}" was made on "${d.channel}"` });
      } else if (!d.offers.some((o) => o.offerId === e.offerId)) {
        problems.push({
          path: path(i, 'offerId'),
          message: `decision "${e.decisionId}" did not present "${e.offerId}"`,
        });
      } else this.decisionOf.set(e, d);
    });
    return problems;
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
        const ready = this.store.available() ? await this.verified(batch) : undefined;
        const left = ready ? (await this.write(ready)).failed : batch;
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

  /** At shutdown: keeps trying for a few seconds; returns how many events could not be written (see unwritten()). */
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
    return this.buffered;
  }

  /** After close(): the events still waiting, oldest first, with what is known of them. */
  unwritten(): UnwrittenResponse[] {
    return this.queue.map((event) => ({
      event,
      decision: this.decisionOf.get(event),
      attempted: this.attempted.has(event),
    }));
  }

  /**
   * Takes back the events an earlier process could not write, ahead of any taken in since:
   * they were acknowledged already, so the buffer's capacity does not refuse them.
   */
  restore(events: readonly UnwrittenResponse[]): void {
    if (events.length === 0) return;
    for (const { event, decision, attempted } of events) {
      if (decision) this.decisionOf.set(event, decision);
      if (attempted) this.attempted.add(event);
    }
    this.queue = events.map((u) => u.event).concat(this.queue);
    this.schedule(0);
  }
}
