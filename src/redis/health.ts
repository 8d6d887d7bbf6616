import { BrokenCircuitError, circuitBreaker, CircuitState, handleAll, SamplingBreaker } from 'cockatiel';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { RedisClient } from './client.js';

export type CircuitName = 'closed' | 'open' | 'half-open';

export interface RedisStatus {
  /** the client's connection state: ready, connect, reconnecting, … */
  readonly connection: string;
  readonly circuit: CircuitName;
  /** decisions are answered from Redis (not only from cache and fallbacks) */
  readonly up: boolean;
}

const CIRCUITS: Record<CircuitState, CircuitName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

type ErrorKind = 'timeout' | 'unavailable' | 'circuit_open' | 'error';

function kindOf(err: unknown): ErrorKind {
  if (err instanceof BrokenCircuitError) return 'circuit_open';
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message)) return 'timeout';
  if (/enableOfflineQueue|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|CLUSTERDOWN|Failed to refresh slots|None of startup nodes|MaxRetriesPerRequest|writeable/i.test(message)) return 'unavailable';
  return 'error';
}

/**
 * Every Redis call on a request's path goes through here: a circuit breaker (cockatiel)
 * over the client, whose own commandTimeout is the per-call deadline. When half the calls
 * of the last 5 s fail (at 5+ calls/s) the circuit opens and calls fail at once for 1 s;
 * then one trial call decides. Failures come out as ApiError('unavailable').
 */
export class RedisHealth {
  private readonly breaker = circuitBreaker(handleAll, {
    halfOpenAfter: 1_000,
    breaker: new SamplingBreaker({ threshold: 0.5, duration: 5_000, minimumRps: 5 }),
  });
  private everReady = false;

  constructor(
    private readonly client: RedisClient,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    client.on('ready', () => {
      log.info({ redis: this.describe() }, this.everReady ? 'Redis is back' : 'Redis is ready');
      this.everReady = true;
    });
    client.on('close', () => {
      if (this.everReady) log.warn('Redis connection lost: answering from the profile cache and fallback offers');
    });
    // ioredis reports each failed reconnect; the state changes above say what matters
    client.on('error', (err: Error) => log.debug({ err: err.message }, 'Redis client error'));
    this.breaker.onStateChange((state) => log.warn({ circuit: CIRCUITS[state] }, 'Redis circuit breaker changed state'));
    metrics.gauge('nextbest_redis_up', 'Redis is connected and its circuit is not open (1) or not (0)', () => (this.status().up ? 1 : 0));
    metrics.gauge('nextbest_redis_circuit_open', 'The Redis circuit breaker is open (1) or closed/half-open (0)', () => (this.breaker.state === CircuitState.Open ? 1 : 0));
  }

  private describe(): string {
    return 'options' in this.client && 'host' in this.client.options ? `${this.client.options.host}:${this.client.options.port}` : 'cluster';
  }

  status(): RedisStatus {
    const circuit = CIRCUITS[this.breaker.state];
    return { connection: this.client.status, circuit, up: this.client.status === 'ready' && circuit !== 'open' };
  }

  /** Whether a call now would be tried at all. */
  available(): boolean {
    return this.client.status === 'ready' && this.breaker.state !== CircuitState.Open;
  }

  /** Runs a call through the breaker; a failure is counted by kind and thrown as 'unavailable'. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.breaker.execute(fn);
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  /** Counts a failure and words it as the API's 'unavailable' problem. */
  failure(what: string, err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    const kind = kindOf(err);
    this.metrics.redisErrors.slot(kind).n++;
    const reason = kind === 'circuit_open' ? 'the circuit is open after repeated failures' : err instanceof Error ? err.message : String(err);
    return new ApiError('unavailable', `Redis is unavailable (${what}): ${reason}`, undefined, 1);
  }
}
