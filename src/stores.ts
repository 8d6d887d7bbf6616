import type { Logger } from 'pino';
import type { Config } from './config.js';
import { noDecisionLog, RedisDecisionLog, type DecisionLog } from './decision/index.js';
import { MemoryResponseStore, RedisResponseStore, type ResponseStore } from './feedback/index.js';
import type { Metrics } from './ops/metrics.js';
import { listenForInvalidations, MemoryProfileStore, RedisProfileStore, type InvalidationTarget, type ProfileStore } from './profiles/index.js';
import { connectRedis, RedisHealth, RedisKeys, whenReady, type RedisClient } from './redis/index.js';

/** The stores behind the services: all in this process (the embedded default) or all in Redis. */
export interface Stores {
  readonly profiles: ProfileStore;
  readonly responses: ResponseStore;
  readonly decisionLog: DecisionLog;
  /** present when the stores are in Redis */
  readonly redis: RedisHealth | undefined;
  /** Keeps a node's profile cache in step with writes made on other nodes. */
  listen(cache: InvalidationTarget): void;
  /** Writes out the decision log and closes every connection. */
  close(): Promise<void>;
}

/** How long the start waits for Redis before serving degraded. */
const BOOT_WAIT_MS = 2_000;

export function memoryStores(profiles: MemoryProfileStore): Stores {
  return { profiles, responses: new MemoryResponseStore(), decisionLog: noDecisionLog, redis: undefined, listen() {}, async close() {} };
}

/**
 * Three connections: reads on a request's path with the short deadline, writes with a longer
 * timeout, and a subscriber for cache invalidations. Neither of the first two queues commands
 * while disconnected, so a dead Redis costs a request nothing but a fallback.
 */
export async function redisStores(config: Config, metrics: Metrics, log: Logger): Promise<Stores> {
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
    profiles: new RedisProfileStore(reader, writer, health, keys, metrics),
    responses: new RedisResponseStore(writer, health, keys),
    decisionLog,
    redis: health,
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
