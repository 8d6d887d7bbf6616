import type { Logger } from 'pino';
import type { RedisLane } from '../redis/health.js';
import type { Counters } from './counters.js';

const FLUSH_MS = 1_000;

/**
 * Totals in one Redis hash shared by every node. Additions collect in memory and are written
 * once a second (HINCRBY per field, pipelined), off the request path; a failed write keeps its
 * delta for the next round, so nothing added is lost while Redis is away (short of a stop).
 */
export class RedisCounters implements Counters {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly lane: RedisLane,
    private readonly key: string,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  add(field: string, n = 1): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + n);
  }

  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0 || !this.lane.health.available()) return;
    const batch = this.pending;
    this.pending = new Map();
    const { client, health } = this.lane;
    const entries = [...batch];
    const results = await Promise.allSettled(entries.map(([field, n]) => health.call('counters', () => client.hincrby(this.key, field, n))));
    let failed = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      failed++;
      const [field, n] = entries[i]!;
      this.add(field, n);
    });
    if (failed > 0) this.log.debug({ key: this.key, failed }, 'counter writes failed; kept for the next round');
  }

  /** Redis's totals plus what this node has not written yet. */
  async totals(): Promise<ReadonlyMap<string, number>> {
    const { client, health } = this.lane;
    const stored = await health.call('counters read', () => client.hgetall(this.key));
    const out = new Map<string, number>();
    for (const [field, v] of Object.entries(stored)) out.set(field, Number(v));
    for (const [field, n] of this.pending) out.set(field, (out.get(field) ?? 0) + n);
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.size > 0) this.log.warn({ key: this.key, fields: this.pending.size }, 'counter additions not written at shutdown');
  }
}
