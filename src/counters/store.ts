/**
 * One event's share of the totals: 1 added to each field, once per event however often it is
 * asked for, so an event can be tallied again whenever it is not known to have been.
 */
export interface Tally {
  /** the event: `<customerId>|<eventId>` */
  readonly id: string;
  readonly fields: readonly string[];
  /** when the contact store recorded the event (epoch ms) */
  readonly recordedAt: number;
  /**
   * This node recorded the event, or sent a write for it that went unanswered: the tally is
   * owed, and made unless the event is marked as tallied. Otherwise (a duplicate of an event
   * recorded elsewhere) it was most likely made there, and is made here only when that can be
   * ruled out: the event is recent enough that its mark would still be kept.
   */
  readonly owed: boolean;
}

/** Additions shared counters could not write before a stop, for the next start to write: batches keep their ids, tallies their events. */
export interface CounterBacklog {
  readonly batches: readonly {
    readonly id: string;
    readonly entries: readonly (readonly [string, number])[];
    readonly tallies: readonly Tally[];
  }[];
}

/** Named totals that only grow: learning counts and report tallies. */
export interface Counters {
  add(field: string, n?: number): void;
  /** Adds an event's share, once per event. */
  tally(t: Tally): void;
  /** Every total; shared counters (Redis) include what every node added. */
  totals(): Promise<ReadonlyMap<string, number>>;
  /** Writes out what is pending. */
  close(): Promise<void>;
  /** After close(): what could not be written (undefined when nothing was, or the totals live and die with the process). */
  backlog(): CounterBacklog | undefined;
  /** Takes back a backlog an earlier process could not write; it is written with the next additions. */
  restore(backlog: CounterBacklog): void;
}
