import type { Counters } from './store.js';

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
