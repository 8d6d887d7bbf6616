import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import type { WindowCounts } from './store.js';

/** How often a node adds its requests to the shared counts and reads every node's back. */
const SYNC_MS = 100;

interface KeyCount {
  /** the window's total across nodes at the last sync (this node's sent requests included) */
  shared: number;
  /** this node's requests since then */
  pending: number;
}

/**
 * Rate-limit counts shared by every node through Redis, off the request path: a request is
 * counted here at once, and every 100 ms each key's new requests are added to its window's
 * counter (INCRBY, expiring with the window), whose answer is every node's total; keys with
 * no new requests are read. A node thus sees the others' requests about 100 ms late; while
 * Redis is away it goes on counting its own, so limits still hold per node and nothing fails.
 */
export class RedisWindowCounts implements WindowCounts {
  private window = -1;
  private counts = new Map<string, KeyCount>();
  /** the windows just left, whose last requests are still to be sent */
  private leaving: { window: number; counts: Map<string, KeyCount> }[] = [];
  private readonly timer: NodeJS.Timeout;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly lane: RedisLane,
    private readonly keys: RedisKeys,
    private readonly windowMs: number,
  ) {
    this.timer = setInterval(() => void this.sync(), SYNC_MS);
    this.timer.unref();
  }

  hit(keyId: string, windowStart: number): number {
    if (windowStart !== this.window) {
      if (this.window >= 0) this.leaving.push({ window: this.window, counts: this.counts });
      this.window = windowStart;
      this.counts = new Map();
    }
    let c = this.counts.get(keyId);
    if (!c) this.counts.set(keyId, (c = { shared: 0, pending: 0 }));
    c.pending++;
    return c.shared + c.pending;
  }

  /** Sends the pending requests (of the current window and of those just left); a failed send is kept for the next. */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    const sends: Promise<void>[] = [];
    const left = this.leaving;
    this.leaving = [];
    for (const { window, counts } of left) {
      for (const [keyId, c] of counts) if (c.pending > 0) sends.push(this.send(keyId, window, c));
    }
    // the current window's keys are all visited: those without new requests learn the other nodes'
    for (const [keyId, c] of this.counts) sends.push(this.send(keyId, this.window, c));
    this.syncing = Promise.all(sends).then(() => void (this.syncing = undefined));
    return this.syncing;
  }

  /** Adds a key's new requests to its window's counter (or reads it, with none) and keeps the total. */
  private send(keyId: string, window: number, c: KeyCount): Promise<void> {
    const n = c.pending;
    c.pending = 0;
    const key = this.keys.rateWindow(keyId, window);
    const total = this.lane.health.call('rate limit', async () => {
      if (n === 0) return Number((await this.lane.client.get(key)) ?? 0);
      const [[, sum]] = (await this.lane.client
        .multi()
        .incrby(key, n)
        .pexpire(key, this.windowMs * 2)
        .exec()) as [[Error | null, number]];
      return Number(sum);
    });
    return total.then(
      (t) => void (c.shared = Math.max(c.shared + n, t)),
      // not written: counted here meanwhile, and sent again with the next sync
      () => void (c.pending += n),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    // what is in flight, then what was counted meanwhile
    await this.sync();
    await this.sync();
  }
}
