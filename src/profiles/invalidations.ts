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
 *
 * SUBSCRIBE is sent once the connection is ready, and again on each reconnect. Sent during the
 * connection's handshake it would be written at once and turn the connection to subscriber
 * mode; the handshake's ready check is then refused, the connection is dropped and opened
 * again, and the subscription is not renewed: the node would never hear of a write. A second
 * SUBSCRIBE to the same channel changes nothing on the server.
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
  let wasReady = false;
  let subscribed = false;
  metrics.gauge(
    'nextbest_profile_invalidations_subscribed',
    'This node hears of profiles written on other nodes (1) or not (0): while 0, its cached copies are refreshed only when they turn stale',
    () => (subscribed && subscriber.status === 'ready' ? 1 : 0),
  );
  const subscribe = () =>
    subscriber.subscribe(keys.invalidations).then(
      () => {
        subscribed = true;
      },
      (err: Error) => log.warn({ err: err.message }, 'cannot subscribe to profile invalidations'),
    );
  const missedSome = () => {
    cache.revalidateAll();
    reconnect.n++;
    log.info('profile invalidations may have been missed; cached profiles are revalidated on next use');
  };
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.invalidations) remote.n += cache.invalidate(message.split('\n'));
  });
  const onReady = () => {
    if (wasReady) missedSome();
    wasReady = true;
    subscribed = false;
    void subscribe();
  };
  subscriber.on('ready', onReady);
  subscriber.on('-node', missedSome);
  if (subscriber.status === 'ready') onReady();
}
