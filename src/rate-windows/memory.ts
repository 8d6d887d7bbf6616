import type { WindowCounts } from './store.js';

/** The embedded default: this process's counts, the current window only. */
export class MemoryWindowCounts implements WindowCounts {
  private window = -1;
  private counts = new Map<string, number>();

  hit(keyId: string, windowStart: number): number {
    if (windowStart !== this.window) {
      this.window = windowStart;
      this.counts = new Map();
    }
    const n = (this.counts.get(keyId) ?? 0) + 1;
    this.counts.set(keyId, n);
    return n;
  }

  async close(): Promise<void> {}
}
