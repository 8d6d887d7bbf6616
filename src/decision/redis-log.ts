import type { Logger } from 'pino';
import type { DecisionLog } from './log.js';
import type { Decision } from './types.js';
import type { Metrics } from '../ops/metrics.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisHealth } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';

const FLUSH_MS = 100;
const FLUSH_AT = 512;
/** Most entries held while Redis is away; beyond it the oldest are dropped and counted. */
export const DECISION_LOG_BUFFER = 100_000;

interface Pending {
  readonly decision: Decision;
  readonly at: number;
}

/** The stream entry's fields: flat strings, `offers` as JSON. */
export function decisionLogFields(d: Decision, at: number): string[] {
  const offers = d.offers.map((o) => ({ rank: o.rank, offerId: o.offerId, group: o.group, score: o.score, propensity: o.propensity }));
  return [
    'decisionId', d.decisionId,
    'customerId', d.customerId,
    'channel', d.channel,
    'placement', d.placement ?? '',
    'rulesetVersion', d.rulesetVersion,
    'found', d.profile.found ? '1' : '0',
    'valueSegment', d.profile.valueSegment ?? '',
    'lifecyclePhase', d.profile.lifecyclePhase ?? '',
    'offers', JSON.stringify(offers),
    'controlGroup', d.controlGroup ? '1' : '0',
    'degraded', d.degraded ? '1' : '0',
    'at', new Date(at).toISOString(),
  ];
}

/**
 * Appends every decision to the stream `<prefix>decisions`, capped near `maxLen` entries
 * (XADD MAXLEN ~). The hot path only pushes to an array; a timer writes batches through
 * auto-pipelining. While Redis is away entries wait, up to DECISION_LOG_BUFFER, then the
 * oldest are dropped and counted in nextbest_decision_log_entries_total{result="dropped"}.
 */
export class RedisDecisionLog implements DecisionLog {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private readonly written;
  private readonly dropped;

  constructor(
    private readonly client: RedisClient,
    private readonly health: RedisHealth,
    private readonly keys: RedisKeys,
    private readonly maxLen: number,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.written = metrics.decisionLog.slot('written');
    this.dropped = metrics.decisionLog.slot('dropped');
    metrics.gauge('nextbest_decision_log_pending', 'Decisions waiting to be written to the decision log', () => this.pending.length);
  }

  append(decision: Decision, at: number): void {
    this.pending.push({ decision, at });
    if (this.pending.length > DECISION_LOG_BUFFER) {
      const over = this.pending.length - DECISION_LOG_BUFFER;
      this.pending.splice(0, over);
      this.dropped.n += over;
    }
    if (this.pending.length >= FLUSH_AT && !this.writing) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what is pending; on failure it stays pending for the next attempt. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 && !this.timer) {
        this.timer = setTimeout(() => void this.flush(), this.health.available() ? FLUSH_MS : 1_000);
        this.timer.unref();
      }
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0 && this.health.available()) {
      const batch = this.pending.slice(0, 2_000);
      const key = this.keys.decisions;
      const cap = String(this.maxLen);
      try {
        await this.health.call('decision log', () => Promise.all(batch.map((p) => this.client.xadd(key, 'MAXLEN', '~', cap, '*', ...decisionLogFields(p.decision, p.at)))));
      } catch (err) {
        this.log.debug({ err: (err as Error).message, pending: this.pending.length }, 'decision log write failed; will retry');
        return;
      }
      // entries dropped while this batch was in flight shift the queue: remove by identity
      const done = new Set(batch);
      this.pending = this.pending.filter((p) => !done.has(p));
      this.written.n += batch.length;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.pending.length > 0) this.log.error({ decisions: this.pending.length }, 'decisions not written to the decision log at shutdown');
  }
}
