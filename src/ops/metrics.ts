import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';

interface ExportedValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly exemplar?: null;
}

type Slot<L extends string> = { readonly labels: Readonly<Record<L, string>>; n: number };

/**
 * A counter whose hot-path increment is a plain `slot.n++`: prom-client hashes and checks
 * the labels on every inc(), so totals are kept here and handed to it at scrape time.
 */
export class TalliedCounter<L extends string> {
  private readonly slots = new Map<string, unknown>();
  private readonly all: Slot<L>[] = [];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly labelNames: readonly L[],
  ) {
    const slots = this.all;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of slots) if (s.n > 0) this.inc(s.labels, s.n);
      },
    });
  }

  /** The slot for these label values, in labelNames order (one lookup per value, no key string built). */
  slot(...values: string[]): Slot<L> {
    let level: Map<string, unknown> = this.slots;
    for (let i = 0; i < values.length - 1; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    const last = values[values.length - 1] ?? '';
    let slot = level.get(last) as Slot<L> | undefined;
    if (slot === undefined) {
      const labels = Object.fromEntries(this.labelNames.map((l, i) => [l, values[i] ?? ''])) as Record<L, string>;
      level.set(last, (slot = { labels, n: 0 }));
      this.all.push(slot);
    }
    return slot;
  }
}

/**
 * A histogram without labels whose observe() is a bucket search and three additions:
 * prom-client's hashes the (empty) labels and validates the value on every call. Exported
 * in prom-client's own shape, so /metrics and cluster aggregation read it like any histogram.
 */
export class TalliedHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;
  /** after reset() and before the next observation no series is exported, as prom-client does */
  private cleared = false;

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
    registry.registerMetric(this as unknown as Metric);
  }

  readonly type = 'histogram';
  readonly aggregator = 'sum';

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
    this.cleared = false;
  }

  /** What prom-client's registry reads: cumulative buckets, +Inf, sum and count. */
  async get(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const values: ExportedValue[] = [];
    if (this.cleared) return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative, exemplar: null });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count, exemplar: null });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.cleared = true;
  }
}

/** Every metric the service exports; one registry per app so tests can build several. */
export class Metrics {
  readonly registry = new Registry();
  readonly decisionDuration = new TalliedHistogram(
    this.registry,
    'nextbest_decision_duration_seconds',
    'Server-side time to make a decision, from validated request to answer',
    [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  );
  readonly decisions = new TalliedCounter(
    this.registry,
    'nextbest_decisions_total',
    'Decisions by channel and outcome (offers, no_offers, fallback, degraded)',
    ['channel', 'outcome'] as const,
  );
  readonly storeRoundTrips = new TalliedCounter(
    this.registry,
    'nextbest_decision_store_round_trips_total',
    'Round trips to the store a decision waited for, by step: read (profile and contact state together), reserve, reread (after another write won)',
    ['step'] as const,
  );
  readonly offersServed = new TalliedCounter(
    this.registry,
    'nextbest_offers_served_total',
    'Offers returned in decisions, by offer and group',
    ['offer', 'group'] as const,
  );
  readonly profileCache = new TalliedCounter(
    this.registry,
    'nextbest_profile_cache_requests_total',
    'Profile look-ups by cache result (hit, stale, miss)',
    ['result'] as const,
  );
  readonly cacheInvalidations = new TalliedCounter(
    this.registry,
    'nextbest_profile_cache_invalidations_total',
    'Cached profiles dropped because they were written, by source (remote: written on another node; reconnect: all marked for revalidation after missed messages)',
    ['source'] as const,
  );
  readonly responseEvents = new TalliedCounter(
    this.registry,
    'nextbest_response_events_total',
    'Response events by result (stored, duplicate, buffered, refused)',
    ['result'] as const,
  );
  readonly redisErrors = new TalliedCounter(
    this.registry,
    'nextbest_redis_errors_total',
    'Failed Redis calls by path (read, write) and kind (timeout, unavailable, circuit_open, invalid_data, error)',
    ['path', 'kind'] as const,
  );
  readonly decisionLog = new TalliedCounter(
    this.registry,
    'nextbest_decision_log_entries_total',
    'Decision log entries by result (written, dropped)',
    ['result'] as const,
  );
  readonly offerOutcomes = new TalliedCounter(
    this.registry,
    'nextbest_offer_outcomes_total',
    'Offers presented (decision) and their outcomes, by offer, channel, outcome and arm (control, treatment)',
    ['offer', 'channel', 'outcome', 'arm'] as const,
  );
  readonly segmentOutcomes = new TalliedCounter(
    this.registry,
    'nextbest_segment_outcomes_total',
    'Decisions and outcomes by lifecycle phase, value segment, channel, outcome and arm (control, treatment)',
    ['lifecycle_phase', 'value_segment', 'channel', 'outcome', 'arm'] as const,
  );
  readonly rulesetChanges = new TalliedCounter(
    this.registry,
    'nextbest_ruleset_changes_total',
    'Rule-set activations, refusals and rollbacks, by result (activated, rolled_back, refused)',
    ['result'] as const,
  );
  readonly problems = new TalliedCounter(
    this.registry,
    'nextbest_http_problems_total',
    'Error responses by problem code',
    ['code'] as const,
  );
  readonly authFailures = new Counter({
    name: 'nextbest_auth_failures_total',
    help: 'Requests answered 401 (no key, unknown key, bad customer token), counted against their address’s AUTH_FAILURES_PER_MINUTE',
    registers: [this.registry],
  });
  readonly authBlocked = new Counter({
    name: 'nextbest_auth_blocked_total',
    help: 'Requests refused with 429 before any key or token check: their address had used its AUTH_FAILURES_PER_MINUTE',
    registers: [this.registry],
  });
  readonly rulesetInfo = new Gauge({
    name: 'nextbest_ruleset_active_info',
    help: 'The active rule-set version (value 1)',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  readonly profilesLoaded = new Gauge({
    name: 'nextbest_profiles_loaded',
    help: 'Profiles in the store at start or after the last bulk load',
    registers: [this.registry],
  });

  private readonly cacheHits = this.profileCache.slot('hit');
  private readonly cacheStale = this.profileCache.slot('stale');
  private readonly cacheMisses = this.profileCache.slot('miss');
  readonly cacheCounter = {
    hit: () => void this.cacheHits.n++,
    stale: () => void this.cacheStale.n++,
    miss: () => void this.cacheMisses.n++,
  };

  /** A gauge read at scrape time from a live value (a queue length, a connection state). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** The same, one series per value of one label. */
  labelledGauge(name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        for (const [value, n] of read()) this.set({ [label]: value }, n);
      },
    });
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // event-loop delay sampled every millisecond (prom-client's default is 10): its lag figures include the interval
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'nextbest_', eventLoopMonitoringPrecision: 1 });
  }
}
