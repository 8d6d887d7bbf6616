import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { RedisLane } from '../redis/health.js';
import type { RedisKeys } from '../redis/keys.js';
import type { DecisionLog, LoggedDecision } from './store.js';

const FLUSH_MS = 100;
/** Entries per write; the writer yields to requests between batches. */
const BATCH = 100;
/** Most entries held while Redis is away; beyond it the oldest tenth is dropped and counted. */
export const DECISION_LOG_BUFFER = 50_000;
const MAX_BACKOFF_MS = 5_000;

interface Pending {
  readonly decision: LoggedDecision;
  readonly at: number;
}

/** The stream entry's fields: flat strings, `offers` as JSON. */
export function decisionLogFields(d: LoggedDecision, at: number): string[] {
  const offers = d.offers.map((o) => ({
    rank: o.rank,
    offerId: o.offerId,
    group: o.group,
    score: o.score,
    propensity: o.propensity,
  }));
  // biome-ignore format: a field and its value on a line
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
    'arm', d.arm,
    'degraded', d.degraded ? '1' : '0',
    'at', new Date(at).toISOString(),
  ];
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Appends every decision to the stream `<prefix>decisions`, capped near `maxLen` entries
 * (XADD MAXLEN ~). The hot path only pushes to an array; a timer writes small batches through
 * the write lane, yielding to requests between them, and backs off while writes fail. Only
 * the entries that failed are written again. While Redis is away entries wait, up to
 * DECISION_LOG_BUFFER, then the oldest are dropped and counted in
 * nextbest_decision_log_entries_total{result="dropped"}.
 */
export class RedisDecisionLog implements DecisionLog {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private failures = 0;
  private readonly written;
  private readonly dropped;

  constructor(
    private readonly lane: RedisLane,
    private readonly keys: RedisKeys,
    private readonly maxLen: number,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.written = metrics.decisionLog.slot('written');
    this.dropped = metrics.decisionLog.slot('dropped');
    metrics.gauge(
      'nextbest_decision_log_pending',
      'Decisions waiting to be written to the decision log',
      () => this.pending.length,
    );
  }

  append(decision: LoggedDecision, at: number): void {
    this.pending.push({ decision, at });
    if (this.pending.length > DECISION_LOG_BUFFER) {
      // a tenth at a time, so a full buffer does not cost a shift per decision
      const over = this.pending.length - DECISION_LOG_BUFFER * 0.9;
      this.pending.splice(0, over);
      this.dropped.n += over;
    }
    if (!this.timer && !this.writing) this.later(FLUSH_MS);
  }

  private later(ms: number): void {
    this.timer = setTimeout(() => void this.flush(), ms);
    this.timer.unref();
  }

  /** Writes what is pending; what fails goes back to the head for the next attempt. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 && !this.timer)
        this.later(this.failures === 0 ? FLUSH_MS : Math.min(FLUSH_MS * 2 ** this.failures, MAX_BACKOFF_MS));
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    const { client, health } = this.lane;
    const key = this.keys.decisions;
    const cap = String(this.maxLen);
    while (this.pending.length > 0 && health.available()) {
      const batch = this.pending.splice(0, BATCH);
      const results = await Promise.allSettled(
        batch.map((p) =>
          health.call('decision log', () =>
            client.xadd(key, 'MAXLEN', '~', cap, '*', ...decisionLogFields(p.decision, p.at)),
          ),
        ),
      );
      const failed = batch.filter((_, i) => results[i]!.status === 'rejected');
      this.written.n += batch.length - failed.length;
      if (failed.length > 0) {
        // a write that timed out may still have been applied: readers dedupe by decisionId
        this.pending = failed.concat(this.pending);
        this.failures++;
        this.log.debug(
          { failed: failed.length, pending: this.pending.length },
          'decision log write failed; will retry',
        );
        return;
      }
      this.failures = 0;
      await nextTick();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.pending.length > 0)
      this.log.error({ decisions: this.pending.length }, 'decisions not written to the decision log at shutdown');
  }
}
