/** Named totals that only grow: learning counts and report tallies. */
export interface Counters {
  add(field: string, n?: number): void;
  /** Every total; shared counters (Redis) include what every node added. */
  totals(): Promise<ReadonlyMap<string, number>>;
  /** Writes out what is pending. */
  close(): Promise<void>;
}

/** The embedded default: totals of this process. */
export class MemoryCounters implements Counters {
  private readonly values = new Map<string, number>();

  add(field: string, n = 1): void {
    this.values.set(field, (this.values.get(field) ?? 0) + n);
  }

  async totals(): Promise<ReadonlyMap<string, number>> {
    return new Map(this.values);
  }

  async close(): Promise<void> {}
}
