/** Redis: profiles, contact history and the decision log shared by every node, behind deadlines and a circuit breaker. */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../ops/metrics.js';
import { connectRedis, whenReady, type RedisClient } from './client.js';
import { RedisDecisionLog } from './decision-log.js';
import { RedisHealth } from './health.js';
import { listenForInvalidations, type InvalidationTarget } from './invalidations.js';
import { RedisKeys } from './keys.js';
import { RedisProfileStore } from './profiles.js';
import { RedisResponseStore } from './responses.js';

export { connectRedis, whenReady, type RedisClient, type RedisTarget } from './client.js';
export { decisionLogFields, RedisDecisionLog } from './decision-log.js';
export { RedisHealth, type RedisStatus } from './health.js';
export { RedisKeys } from './keys.js';
export { RedisProfileStore } from './profiles.js';
export { RedisResponseStore } from './responses.js';

export type RedisConfig = Pick<
  Config,
  'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_KEY_PREFIX' | 'REDIS_DEADLINE_MS' | 'REDIS_WRITE_TIMEOUT_MS' | 'DECISION_LOG_MAXLEN'
>;

/** How long the start waits for Redis before serving degraded. */
const BOOT_WAIT_MS = 2_000;

export interface RedisState {
  readonly health: RedisHealth;
  readonly profiles: RedisProfileStore;
  readonly responses: RedisResponseStore;
  readonly decisionLog: RedisDecisionLog;
  /** Keeps a node's profile cache in step with writes made on other nodes. */
  listen(cache: InvalidationTarget): void;
  /** Writes out the decision log and closes every connection. */
  close(): Promise<void>;
}

/**
 * Three connections: reads on a request's path with the short deadline, writes with a longer
 * timeout, and a subscriber for cache invalidations. Neither of the first two queues commands
 * while disconnected, so a dead Redis costs a request nothing but a fallback.
 */
export async function connectRedisState(config: RedisConfig, metrics: Metrics, log: Logger): Promise<RedisState> {
  const target = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
  const reader = connectRedis(target, { name: 'read', commandTimeout: config.REDIS_DEADLINE_MS });
  const writer = connectRedis(target, { name: 'write', commandTimeout: config.REDIS_WRITE_TIMEOUT_MS });
  const subscriber = connectRedis(target, { name: 'subscribe', offlineQueue: true });
  const keys = new RedisKeys(config.REDIS_KEY_PREFIX);
  const health = new RedisHealth(reader, metrics, log);
  if (!(await whenReady(reader, BOOT_WAIT_MS))) {
    log.warn({ redis: config.REDIS_CLUSTER_NODES?.join(',') ?? config.REDIS_URL }, 'Redis is not reachable yet: serving cached profiles and fallback offers until it is');
  }
  const decisionLog = new RedisDecisionLog(writer, health, keys, config.DECISION_LOG_MAXLEN, metrics, log);
  return {
    health,
    profiles: new RedisProfileStore(reader, writer, health, keys, metrics),
    responses: new RedisResponseStore(writer, health, keys),
    decisionLog,
    listen: (cache) => listenForInvalidations(subscriber, keys, cache, metrics, log),
    async close() {
      await decisionLog.close();
      await Promise.all([reader, writer, subscriber].map(quit));
    },
  };
}

/** QUIT when connected (it waits for replies in flight), a plain disconnect otherwise. */
async function quit(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') return client.disconnect();
  await client.quit().catch(() => client.disconnect());
}
