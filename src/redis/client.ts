import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** A single node by URL, or a Cluster by its seed nodes. */
export interface RedisTarget {
  readonly url: string;
  readonly clusterNodes?: readonly string[] | undefined;
}

export interface ConnectOptions {
  /** shows in CLIENT LIST as nextbest:<name> */
  readonly name: string;
  /** per-command deadline in milliseconds; none when absent */
  readonly commandTimeout?: number | undefined;
  /**
   * Queue commands while disconnected. Off for everything on a request's path: a queued
   * command holds its caller until the connection returns, so it fails at once instead.
   */
  readonly offlineQueue?: boolean;
}

/** Reconnects quickly and forever: 100 ms, 200 ms, … capped at 1 s. */
const reconnectDelay = (times: number) => Math.min(100 * times, 1_000);

function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

/** Opens a connection (or a Cluster client) with the settings every nextbest client shares. */
export function connectRedis(target: RedisTarget, options: ConnectOptions): RedisClient {
  const offline = options.offlineQueue ?? false;
  const common: RedisOptions = {
    connectionName: `nextbest:${options.name}`,
    connectTimeout: 1_000,
    commandTimeout: options.commandTimeout,
    // with the offline queue off a command is tried once more at most, on a reconnect in flight
    maxRetriesPerRequest: offline ? null : 1,
    enableAutoPipelining: true,
  };
  if (target.clusterNodes && target.clusterNodes.length > 0) {
    return new Cluster(target.clusterNodes.map(hostPort), {
      enableOfflineQueue: offline,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 50,
      slotsRefreshTimeout: 1_000,
      slotsRefreshInterval: 5_000,
      redisOptions: common,
    });
  }
  return new Redis(target.url, { ...common, enableOfflineQueue: offline, retryStrategy: reconnectDelay });
}

/** Waits for the connection to be ready, up to `ms`; false when it is not. */
export function whenReady(client: RedisClient, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    client.on('ready', onReady);
  });
}
