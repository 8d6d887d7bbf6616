import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric the service exports; one registry per app so tests can build several. */
export class Metrics {
  readonly registry = new Registry();
  readonly decisionDuration = new Histogram({
    name: 'nextbest_decision_duration_seconds',
    help: 'Server-side time to make a decision, from validated request to answer',
    labelNames: ['channel'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'nextbest_decisions_total',
    help: 'Decisions by channel and outcome (offers, no_offers, fallback, degraded)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly offersServed = new Counter({
    name: 'nextbest_offers_served_total',
    help: 'Offers returned in decisions, by offer and group',
    labelNames: ['offer', 'group'] as const,
    registers: [this.registry],
  });
  readonly profileCache = new Counter({
    name: 'nextbest_profile_cache_requests_total',
    help: 'Profile look-ups by cache result (hit, miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly problems = new Counter({
    name: 'nextbest_http_problems_total',
    help: 'Error responses by problem code',
    labelNames: ['code'] as const,
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

  readonly cacheStats = {
    hit: this.profileCache.labels('hit'),
    miss: this.profileCache.labels('miss'),
  };
  readonly cacheCounter = { hit: () => this.cacheStats.hit.inc(), miss: () => this.cacheStats.miss.inc() };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'nextbest_' });
  }
}
