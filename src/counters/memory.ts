import type { CounterBacklog, Counters, Tally } from './store.js';

/**
 * The embedded default: totals of this process. An event recorded by this process was tallied
 * when it was recorded, so only an owed tally adds.
 */
export class MemoryCounters implements Counters {
  private readonly values = new Map<string, number>();

  add(field: string, n = 1): void {
    this.values.set(field, (this.values.get(field) ?? 0) + n);
  }

  tally(t: Tally): void {
    if (t.owed) for (const field of t.fields) this.add(field);
  }

  async totals(): Promise<ReadonlyMap<string, number>> {
    return new Map(this.values);
  }

  async close(): Promise<void> {}

  backlog(): CounterBacklog | undefined {
    return undefined;
  }

  restore(backlog: CounterBacklog): void {
    for (const b of backlog.batches) {
      for (const [field, n] of b.entries) this.add(field, n);
      for (const t of b.tallies) this.tally(t);
    }
  }
}
