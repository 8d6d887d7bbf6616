import { BrokenCircuitError, CircuitState, circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { RedisClient } from './client.js';

export type CircuitName = 'closed' | 'open' | 'half-open';
/** read: look-ups on a request's path; write: profile writes, response events, the decision log */
export type RedisPath = 'read' | 'write';

/** A connection and the health that guards its calls. */
export interface RedisLane {
  readonly client: RedisClient;
  readonly health: RedisHealth;
}

/** The health of each path, for readiness and metrics. */
export interface RedisHealths {
  readonly read: RedisHealth;
  readonly write: RedisHealth;
}

export interface RedisStatus {
  /** the connection's state: ready, connect, reconnecting, … */
  readonly connection: string;
  readonly circuit: CircuitName;
  /** calls on this path are tried (connected, circuit not open) */
  readonly up: boolean;
}

const CIRCUITS: Record<CircuitState, CircuitName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/** How long an open circuit refuses calls before it lets one through to try. */
const HALF_OPEN_AFTER_MS = 1_000;

type ErrorKind = 'timeout' | 'unavailable' | 'circuit_open' | 'error';

class DeadlineError extends Error {}

function kindOf(err: unknown): ErrorKind {
  if (err instanceof BrokenCircuitError) return 'circuit_open';
  if (err instanceof DeadlineError) return 'timeout';
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message)) return 'timeout';
  if (
    /enableOfflineQueue|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|CLUSTERDOWN|Failed to refresh slots|None of startup nodes|MaxRetriesPerRequest|writeable|Too many Cluster redirections|^(MOVED|ASK|TRYAGAIN) /i.test(
      message,
    )
  )
    return 'unavailable';
  return 'error';
}

const REASONS: Record<ErrorKind, string> = {
  timeout: 'no answer within the deadline',
  unavailable: 'not connected',
  circuit_open: 'the circuit is open after repeated failures',
  error: '',
};

/**
 * Every Redis call of one path goes through here. The deadline is held here, not by the
 * client: a Cluster client may wait on a redirection or a reconnect before a command is even
 * sent. Calls pass a circuit breaker (cockatiel): when half the calls of the last 5 s fail (at
 * 5+ calls/s) it opens and calls fail at once for 1 s; then one trial call decides. Reads and
 * writes have a breaker each, so writes refused (a full Redis) leave reads alone.
 */
export class RedisHealth {
  private readonly breaker = circuitBreaker(handleAll, {
    halfOpenAfter: HALF_OPEN_AFTER_MS,
    breaker: new SamplingBreaker({ threshold: 0.5, duration: 5_000, minimumRps: 5 }),
  });
  private readonly errors;
  /** when the circuit last opened, epoch ms */
  private openedAt = 0;

  constructor(
    private readonly client: RedisClient,
    readonly path: RedisPath,
    private readonly deadlineMs: number,
    metrics: Metrics,
    log: Logger,
  ) {
    this.errors = (kind: ErrorKind) => metrics.redisErrors.slot(path, kind);
    let ready = client.status === 'ready';
    let everReady = ready;
    client.on('ready', () => {
      log.info({ path }, everReady ? 'Redis is back' : 'Redis is ready');
      ready = everReady = true;
    });
    // on the way from ready to lost only: a reconnect that fails again says nothing new
    client.on('close', () => {
      if (ready)
        log.warn(
          { path },
          'Redis connection lost: decisions use the profile cache and fallback offers; writes wait or are refused',
        );
      ready = false;
    });
    // each reconnect that fails reports again: say a reason once (a wrong password, a refused port), then quietly
    let lastError = '';
    client.on('error', (err: Error) => {
      const quiet = err.message === lastError;
      lastError = err.message;
      log[quiet ? 'debug' : 'warn']({ path, err: err.message }, 'Redis client error');
    });
    client.on('ready', () => (lastError = ''));
    this.breaker.onStateChange((state) => {
      if (state === CircuitState.Open) this.openedAt = Date.now();
      log.warn({ path, circuit: CIRCUITS[state] }, 'Redis circuit breaker changed state');
    });
  }

  status(): RedisStatus {
    const circuit = CIRCUITS[this.breaker.state];
    return { connection: this.client.status, circuit, up: this.client.status === 'ready' && circuit !== 'open' };
  }

  /** Whether a call now would be tried at all. */
  available(): boolean {
    if (this.client.status !== 'ready') return false;
    // an open circuit lets a trial call through once its wait is over: callers that check first must make it
    return this.breaker.state !== CircuitState.Open || Date.now() - this.openedAt >= HALF_OPEN_AFTER_MS;
  }

  /** Runs a call through the breaker within the deadline; a failure is counted by kind and thrown as 'unavailable'. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') throw this.failure(what, new Error('Connection is closed'));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new DeadlineError()), this.deadlineMs)),
    );
    try {
      return await Promise.race([this.breaker.execute(fn), deadline]);
    } catch (err) {
      throw this.failure(what, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts a failure and words it as the API's 'unavailable' problem. */
  failure(what: string, err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    const kind = kindOf(err);
    this.errors(kind).n++;
    const reason = REASONS[kind] || (err instanceof Error ? err.message : String(err));
    return new ApiError('unavailable', `Redis is unavailable (${what}): ${reason}`, undefined, 1);
  }
}
