import pino from 'pino';
import { RedisContactStore } from '../contacts/redis.js';
import { RedisDecisionLog } from '../decision-log/redis.js';
import { Metrics } from '../ops/metrics.js';
import { RedisProfileStore } from '../profiles/redis.js';
import { connectRedis, describeTarget, type RedisClient, type RedisTarget, whenReady } from '../redis/client.js';
import { RedisHealth } from '../redis/health.js';
import { RedisKeys } from '../redis/keys.js';
import { RedisRecords, type RunRecords } from './records.js';
import { RunRefused, type RunStores } from './run.js';
import { RUN_RETENTION_DAYS } from './run-state.js';

/** Where a run finds the service's Redis. */
export interface RedisRunTarget {
  readonly target: RedisTarget;
  readonly prefix: string;
  /** the decision-log stream's cap (DECISION_LOG_MAXLEN; 0: no stream); by default the configuration's default */
  readonly decisionLogMaxLen?: number;
}

const REDIS_WAIT_MS = 5_000;
/** A run's batch is a pipeline of a thousand customers: seconds at worst, not the service's milliseconds. */
const REDIS_DEADLINE_MS = 30_000;
/** The decision-log stream's cap when the caller does not say: the configuration's default. */
const DECISION_LOG_MAXLEN = 1_000_000;
/** Decisions a response may name, from the run on (the longest RESPONSE_WINDOW_MINUTES allows). */
const DECISION_KEY_MS = 7 * 24 * 60 * 60_000;

/**
 * A run's stores on the service's Redis, over a connection of its own: the service's reads keep
 * their short deadline and their place in the queue while the run pipelines its batches.
 */
export async function withRedisRun<T>(
  where: RedisRunTarget,
  work: (stores: RunStores, records: RunRecords, client: RedisClient) => Promise<T>,
): Promise<T> {
  const client = connectRedis(where.target, { name: 'outbound', commandTimeout: REDIS_DEADLINE_MS });
  client.on('error', () => {});
  try {
    if (!(await whenReady(client, REDIS_WAIT_MS)))
      throw new RunRefused(`cannot reach Redis at ${describeTarget(where.target)} within ${REDIS_WAIT_MS} ms`);
    const metrics = new Metrics({ defaultMetrics: false });
    const log = pino({ level: 'silent' });
    const lane = { client, health: new RedisHealth(client, 'write', REDIS_DEADLINE_MS, metrics, log) };
    const keys = new RedisKeys(where.prefix);
    const decisionLog = new RedisDecisionLog(
      lane,
      lane,
      keys,
      where.decisionLogMaxLen ?? DECISION_LOG_MAXLEN,
      DECISION_KEY_MS,
      metrics,
      log,
    );
    try {
      return await work(
        {
          profiles: new RedisProfileStore(lane, lane, keys, metrics),
          contacts: new RedisContactStore(lane, lane, keys, () => RUN_RETENTION_DAYS),
          decisionLog,
        },
        new RedisRecords(client, (week) => keys.outboundRun(week)),
        client,
      );
    } finally {
      await decisionLog.close();
    }
  } finally {
    client.disconnect();
  }
}
