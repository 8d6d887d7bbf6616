import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** A single node by URL, or a Cluster by its seed nodes (credentials and TLS from the URL). */
export interface RedisTarget {
  readonly url: string;
  readonly clusterNodes?: readonly string[] | undefined;
}

export interface ConnectOptions {
  /** shows in CLIENT LIST as nextbest:<name> */
  readonly name: string;
  /** per-command timeout in milliseconds once sent; none when absent (RedisHealth holds the deadline) */
  readonly commandTimeout?: number | undefined;
  /**
   * Queue commands while disconnected. Off for everything on a request's path: a queued
   * command holds its caller until the connection returns, so it fails at once instead.
   */
  readonly offlineQueue?: boolean;
  /** give up on a Cluster redirection or failover quickly (the read path) */
  readonly failFast?: boolean;
}

/** Reconnects quickly and forever: 100 ms, 200 ms, … capped at 1 s. */
const reconnectDelay = (times: number) => Math.min(100 * times, 1_000);

function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

/** The URL without user and password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return 'redis://(unparsable URL)';
  }
}

export function describeTarget(target: RedisTarget): string {
  return target.clusterNodes?.length ? `cluster ${target.clusterNodes.join(',')}` : redactUrl(target.url);
}

/** REDIS_URL's user, password and TLS, applied to every Cluster node. */
function clusterCredentials(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    ...(u.protocol === 'rediss:' && { tls: {} }),
  };
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
  let client: RedisClient;
  if (target.clusterNodes && target.clusterNodes.length > 0) {
    const retryMs = options.failFast ? 10 : 50;
    const cluster: ClusterOptions = {
      enableOfflineQueue: offline,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      maxRedirections: options.failFast ? 2 : 16,
      retryDelayOnFailover: retryMs,
      retryDelayOnClusterDown: retryMs,
      retryDelayOnTryAgain: retryMs,
      slotsRefreshTimeout: 1_000,
      slotsRefreshInterval: 5_000,
      redisOptions: { ...common, ...clusterCredentials(target.url) },
    };
    client = new Cluster(target.clusterNodes.map(hostPort), cluster);
  } else {
    client = new Redis(target.url, { ...common, enableOfflineQueue: offline, retryStrategy: reconnectDelay });
  }
  // without a listener ioredis prints every failed reconnect to stderr; RedisHealth logs what matters
  client.on('error', () => {});
  return client;
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

/** QUIT when connected (it waits for replies in flight, up to `ms`), a plain disconnect otherwise. */
export async function closeRedis(client: RedisClient, ms = 1_000): Promise<void> {
  if (client.status !== 'ready') return client.disconnect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([client.quit().catch(() => undefined), late]);
  clearTimeout(timer);
  client.disconnect();
}
