import type { ContactState, InteractionMark, OutboundWrite, Presented } from './state.js';

// defined next to its twin applySent in state.ts, which may not import this file (no import cycles)
export type { OutboundWrite } from './state.js';

/** complaint: the customer complained about this contact ("stop sending me this", a call to the call center about it) */
export const OUTCOMES = ['impression', 'click', 'accept', 'reject', 'complaint'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** An outcome as the contact history keeps it: every field settled at receipt, so a retried write is idempotent. */
export interface ResponseEvent {
  readonly eventId: string;
  readonly customerId: string;
  readonly offerId: string;
  readonly outcome: Outcome;
  readonly channel: string;
  readonly decisionId: string | undefined;
  /** epoch milliseconds */
  readonly at: number;
}

/**
 * What an outcome that names a decision may count for learning. Each counts at most once per
 * decision × offer: a trial for the first presentation proven (an impression, or an accept,
 * reject or complaint, which prove it too), a success only after that trial.
 */
export interface LearningAsk {
  readonly trial: boolean;
  readonly success: boolean;
}

/** Bits of WriteResult.learned: what a stored event counted for learning. */
export const LEARNED_TRIAL = 1;
export const LEARNED_SUCCESS = 2;

/**
 * An eventId's dedup mark keeps when the event was recorded (epoch ms, a whole number) and, as
 * quarters above it, the LEARNED_* bits it counted: so a duplicate can say both. Exact in a
 * double (a Redis score) for times below 2^51 ms, some 70 000 years.
 */
export const markValue = (recordedAt: number, learned: number): number => recordedAt + learned / 4;
export function fromMark(value: number): { readonly recordedAt: number; readonly learned: number } {
  const recordedAt = Math.floor(value);
  return { recordedAt, learned: Math.round((value - recordedAt) * 4) };
}

/** An event the store had recorded before: when, and what that first recording counted for learning. */
export interface EarlierRecord {
  readonly event: ResponseEvent;
  readonly recordedAt: number;
  /** LEARNED_TRIAL and LEARNED_SUCCESS bits */
  readonly learned: number;
}

/** The dedup-set members that mark a decision × offer's trial and success: `|` is never in an eventId. */
export const trialMark = (decisionId: string, offerId: string) => `L|t|${decisionId}|${offerId}`;
export const successMark = (decisionId: string, offerId: string) => `L|s|${decisionId}|${offerId}`;

export interface WriteResult {
  /** events stored now */
  readonly accepted: number;
  /** events whose eventId was seen before; not counted again */
  readonly duplicates: number;
  /** the events stored now (not duplicates, not failed), for learning and reports */
  readonly stored: readonly ResponseEvent[];
  /** for each of `stored`, what it counted for learning: LEARNED_TRIAL and LEARNED_SUCCESS bits */
  readonly learned: readonly number[];
  /** events that could not be written (and may be tried again: duplicates are recognised) */
  readonly failed: readonly ResponseEvent[];
  /** when `stored` were recorded (epoch ms) */
  readonly recordedAt: number;
  /**
   * The duplicates, each with its first recording: whoever recorded it owes its tallies
   * (reports, learning), and a write whose answer was lost cannot know it was the one.
   */
  readonly earlier: readonly EarlierRecord[];
}

/**
 * Each customer's contact history and contact state: what a decision reads and reserves, and
 * what outcomes record, deduplicated by eventId. In-process stores answer synchronously, so
 * the decision path does not wait a turn of the event loop for them.
 */
export interface ContactStore {
  readonly kind: string;
  /** The customer's contact state; throws when it cannot be read. */
  read(customerId: string): ContactState | Promise<ContactState>;
  /**
   * Adds what a decision presents, and the interaction it answers, if the state is still at
   * `version`; false when it has moved on.
   */
  reserve(
    customerId: string,
    version: number,
    decisionId: string,
    presented: readonly Presented[],
    now: number,
    interaction?: InteractionMark,
  ): boolean | Promise<boolean>;
  /**
   * Records the outcomes not seen before (history, dedup mark, contact state and learning
   * marks in one step); those it could not write come back in `failed`. `asks[i]` is what
   * `events[i]` may count for learning (none when absent).
   */
  record(events: readonly ResponseEvent[], asks?: readonly (LearningAsk | undefined)[]): Promise<WriteResult>;
  /**
   * What an outbound run sent the customer, in one atomic step: each contact counts as a
   * decision and an impression on the day of `write.at` (and sets the latest impression), the
   * journey fields are set then dropped, `o|<runKey>` marks the run. Writes once per runKey:
   * false, and nothing changes, when `o|<runKey>` is already there. Throws when it cannot write.
   */
  send(customerId: string, write: OutboundWrite): boolean | Promise<boolean>;
  /**
   * Many customers' contact states, in the order of `customerIds` (an outbound run's batch):
   * undefined for a customer whose state could not be read; throws when none could (Redis down).
   */
  readMany(customerIds: readonly string[]): Promise<(ContactState | undefined)[]>;
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
