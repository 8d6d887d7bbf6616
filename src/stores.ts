import type { Logger } from 'pino';
import type { Config } from './config.js';
import { type ContactStore, MemoryContactStore, RedisContactStore } from './contacts/index.js';
import { type Counters, MemoryCounters, RedisCounters } from './counters/index.js';
import { DecisionFiles, type DecisionLog, MemoryDecisionLog, RedisDecisionLog } from './decision-log/index.js';
import type { Metrics } from './ops/metrics.js';
import { FolderRecords, RedisRecords, type RunRecords } from './outbound/records.js';
import {
  type InvalidationTarget,
  listenForInvalidations,
  type MemoryProfileStore,
  type ProfileStore,
  RedisProfileStore,
} from './profiles/index.js';
import { MemoryWindowCounts, RATE_WINDOW_MS, RedisWindowCounts, type WindowCounts } from './rate-windows/index.js';
import {
  closeRedis,
  connectRedis,
  describeTarget,
  RedisHealth,
  type RedisHealths,
  RedisKeys,
  whenReady,
} from './redis/index.js';
import type { AuditSink } from './rules/index.js';

/** The stores behind the services: all in this process (the embedded default) or all in Redis. */
export interface Stores {
  readonly profiles: ProfileStore;
  readonly contacts: ContactStore;
  readonly decisionLog: DecisionLog;
  /** present when the stores are in Redis */
  readonly redis: RedisHealths | undefined;
  /** Keeps a node's profile cache in step with writes made on other nodes. */
  listen(cache: InvalidationTarget): void;
  /** Totals that only grow: learning counts, report tallies; shared by every node with Redis. */
  counters(name: 'learning' | 'kpis'): Counters;
  /** Requests per API key per rate-limit window; shared by every node with Redis. */
  readonly rateWindows: WindowCounts;
  /** Where rule-set audit entries are kept besides the log: a Redis stream, or nowhere else. */
  readonly audit: AuditSink;
  /** Where outbound runs keep their records: beside each run's files, or in Redis for every node. */
  runRecords(dirOf: (week: string) => string): RunRecords;
  /** Writes out the decision log and counters, and closes every connection. */
  close(): Promise<void>;
}

/** How long the start waits for Redis before serving degraded. */
const BOOT_WAIT_MS = 2_000;

/** `retentionDays`: days of contact counts to keep, the longest window of the loaded policies. */
export function memoryStores(
  config: Pick<
    Config,
    'RESPONSE_WINDOW_MINUTES' | 'DECISION_LOG_DIR' | 'DECISION_LOG_RETENTION_DAYS' | 'DECISION_LOG_MAX_FILE_MB'
  >,
  profiles: MemoryProfileStore,
  retentionDays: () => number,
  metrics: Metrics,
  log: Logger,
): Stores {
  const files = new DecisionFiles(
    {
      dir: config.DECISION_LOG_DIR,
      retentionDays: config.DECISION_LOG_RETENTION_DAYS,
      maxFileBytes: config.DECISION_LOG_MAX_FILE_MB * 1024 * 1024,
    },
    metrics,
    log,
  );
  const decisionLog = new MemoryDecisionLog(config.RESPONSE_WINDOW_MINUTES * 60_000, files);
  return {
    profiles,
    contacts: new MemoryContactStore(retentionDays),
    decisionLog,
    redis: undefined,
    rateWindows: new MemoryWindowCounts(),
    listen() {},
    counters: () => new MemoryCounters(),
    runRecords: (dirOf) => new FolderRecords(dirOf),
    audit: () => {},
    async close() {
      await decisionLog.close();
    },
  };
}

/**
 * Three connections: reads on a request's path with the short deadline, writes with a longer
 * one, and a subscriber for cache invalidations. Neither of the first two queues commands
 * while disconnected, so a dead Redis costs a request nothing but a fallback.
 */
export async function redisStores(
  config: Config,
  metrics: Metrics,
  log: Logger,
  retentionDays: () => number,
): Promise<Stores> {
  const target = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
  const reader = connectRedis(target, { name: 'read', commandTimeout: config.REDIS_DEADLINE_MS, failFast: true });
  const writer = connectRedis(target, { name: 'write', commandTimeout: config.REDIS_WRITE_TIMEOUT_MS });
  const subscriber = connectRedis(target, { name: 'subscribe', offlineQueue: true });
  const read = { client: reader, health: new RedisHealth(reader, 'read', config.REDIS_DEADLINE_MS, metrics, log) };
  const write = {
    client: writer,
    health: new RedisHealth(writer, 'write', config.REDIS_WRITE_TIMEOUT_MS, metrics, log),
  };
  const lanes = [read, write];
  metrics.labelledGauge(
    'nextbest_redis_up',
    'Redis is connected and the circuit is not open (1) or not (0), by path',
    'path',
    () => lanes.map((l) => [l.health.path, l.health.status().up ? 1 : 0] as const),
  );
  metrics.labelledGauge(
    'nextbest_redis_circuit_open',
    'The Redis circuit breaker is open (1) or not (0), by path',
    'path',
    () => lanes.map((l) => [l.health.path, l.health.status().circuit === 'open' ? 1 : 0] as const),
  );
  const keys = new RedisKeys(config.REDIS_KEY_PREFIX);
  if (!(await whenReady(reader, BOOT_WAIT_MS))) {
    log.warn(
      { redis: describeTarget(target) },
      'Redis is not reachable yet: serving cached profiles and fallback offers until it is',
    );
  }
  const decisionLog = new RedisDecisionLog(
    write,
    read,
    keys,
    config.DECISION_LOG_MAXLEN,
    config.RESPONSE_WINDOW_MINUTES * 60_000,
    metrics,
    log,
  );
  const counters: RedisCounters[] = [];
  const rateWindows = new RedisWindowCounts(write, keys, RATE_WINDOW_MS);
  return {
    rateWindows,
    profiles: new RedisProfileStore(read, write, keys, metrics),
    contacts: new RedisContactStore(write, read, keys, retentionDays),
    decisionLog,
    redis: { read: read.health, write: write.health },
    listen: (cache) => listenForInvalidations(subscriber, keys, cache, metrics, log),
    audit(entry) {
      // every node's changes in one place; a lost entry is still in that node's log
      void write.health
        .call('audit', () => writer.xadd(keys.audit, 'MAXLEN', '~', '10000', '*', 'entry', JSON.stringify(entry)))
        .catch(() => {});
    },
    runRecords: () => new RedisRecords(writer, (week) => keys.outboundRun(week)),
    counters(name) {
      const c = new RedisCounters(write, keys.counters(name), log);
      counters.push(c);
      return c;
    },
    async close() {
      await Promise.all([decisionLog.close(), rateWindows.close(), ...counters.map((c) => c.close())]);
      await Promise.all([reader, writer, subscriber].map((c) => closeRedis(c)));
    },
  };
}
