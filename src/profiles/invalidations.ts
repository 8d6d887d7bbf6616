import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';

/** What a node's profile cache offers to writes made on other nodes. */
export interface InvalidationTarget {
  invalidate(customerIds: Iterable<string>): number;
  revalidateAll(): void;
}

/**
 * Subscribes to the channel RedisProfileStore publishes written customer IDs on and drops
 * those entries from this node's cache. While the subscription is interrupted messages are
 * lost, so after a reconnect (or a Cluster node leaving) every cached profile is refreshed on
 * its next use; it keeps serving until the fresh copy arrives.
 */
export function listenForInvalidations(
  subscriber: RedisClient,
  keys: RedisKeys,
  cache: InvalidationTarget,
  metrics: Metrics,
  log: Logger,
): void {
  const remote = metrics.cacheInvalidations.slot('remote');
  const reconnect = metrics.cacheInvalidations.slot('reconnect');
  let connected = subscriber.status === 'ready';
  const missedSome = () => {
    cache.revalidateAll();
    reconnect.n++;
    log.info('profile invalidations may have been missed; cached profiles are revalidated on next use');
  };
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.invalidations) remote.n += cache.invalidate(message.split('\n'));
  });
  // ioredis subscribes again by itself after a reconnect
  subscriber.on('ready', () => {
    if (connected) missedSome();
    connected = true;
  });
  subscriber.on('-node', missedSome);
  subscriber
    .subscribe(keys.invalidations)
    .catch((err: Error) => log.warn({ err: err.message }, 'cannot subscribe to profile invalidations'));
}
