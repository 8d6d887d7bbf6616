/** Named totals that only grow: learning counts and report tallies. */
export interface Counters {
  add(field: string, n?: number): void;
  /** Every total; shared counters (Redis) include what every node added. */
  totals(): Promise<ReadonlyMap<string, number>>;
  /** Writes out what is pending. */
  close(): Promise<void>;
}
