import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PropensityModel } from '../learning/model.js';
import type { Counts } from '../learning/posterior.js';
import type { RuleSet } from '../rules/index.js';
import { csvName } from './files.js';
import type { RunRecord, RunRecords } from './records.js';
import type { RedisRunTarget } from './redis-run.js';
import { RunRefused, type RunStores, runWeek, STOPPED, underWay } from './run.js';
import { runInThread } from './thread.js';
import { parseWeek, WEEK_FORMAT } from './week.js';

export interface RunAsk {
  readonly week: string;
  readonly channels?: readonly string[] | undefined;
  readonly capacity?: Readonly<Record<string, number>> | undefined;
}

/** Why a run was not started: the request's fault (invalid) or another run's (conflict). */
export class RunAskError extends Error {
  constructor(
    readonly kind: 'invalid' | 'conflict' | 'not_ready',
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundRunsOptions {
  readonly stores: RunStores;
  readonly records: RunRecords;
  /** the rule set a new run decides with: the active one */
  readonly ruleset: () => RuleSet | undefined;
  readonly model: PropensityModel;
  /** runs' folders live under it, one per week */
  readonly dir: string;
  readonly log: Logger;
  /** lets decisions in between a run's batches */
  readonly pause?: () => Promise<void>;
  readonly batchSize?: number;
  readonly now?: () => number;
  /**
   * With Redis: runs go to a worker thread with a connection of its own, ranking by the learned
   * counts as they are at the start (`stores` then serve only the records' reads)
   */
  readonly thread?: { readonly redis: RedisRunTarget; readonly learning: () => Iterable<readonly [string, Counts]> };
}

/**
 * The service's outbound runs: started by the API, one per week at a time, in the background.
 * A week already run answers its record (re-running sends nothing twice); a week whose run
 * stopped midway (its record not saved for a while) resumes from its checkpoint.
 */
export class OutboundRuns {
  private readonly active = new Map<string, Promise<RunRecord | undefined>>();
  private readonly latest = new Map<string, RunRecord>();
  private stopping = false;
  /** shared with the runs' threads: 1 once the service stops */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly o: OutboundRunsOptions) {}

  folder(week: string): string {
    return join(this.o.dir, week);
  }

  async start(ask: RunAsk): Promise<RunRecord> {
    const week = parseWeek(ask.week);
    if (!week) throw new RunAskError('invalid', `week "${ask.week}" is not ${WEEK_FORMAT}`);
    const ruleset = this.o.ruleset();
    if (!ruleset) throw new RunAskError('not_ready', 'no rule set is active yet');
    const running = this.active.get(week.key);
    const existing = this.latest.get(week.key) ?? (await this.o.records.load(week.key));
    const busy = existing && !running ? underWay(existing, (this.o.now ?? Date.now)()) : undefined;
    if (busy) throw new RunAskError('conflict', busy);
    if (existing && (running || existing.status === 'done')) {
      const same =
        (ask.channels === undefined || sameSet(ask.channels, existing.channels)) &&
        (ask.capacity === undefined || sameCapacity(ask.capacity, existing.capacity));
      if (!same)
        throw new RunAskError(
          'conflict',
          `week ${week.key} was run for ${existing.channels.join(', ')} with capacity ${JSON.stringify(existing.capacity)}; a week is run once: its contacts stand`,
        );
      return existing;
    }
    const queued: RunRecord = existing
      ? { ...existing, status: 'queued' }
      : {
          runId: week.key,
          week: week.key,
          status: 'queued',
          rulesetVersion: ruleset.version,
          channels: ask.channels ? [...ask.channels] : [...ruleset.outbound.channels.keys()],
          capacity: { ...ask.capacity },
          startedAt: new Date((this.o.now ?? Date.now)()).toISOString(),
          updatedAt: new Date((this.o.now ?? Date.now)()).toISOString(),
          finishedAt: null,
          phase: 'scan',
          progress: { done: 0, total: null },
          counts: {},
          heldOut: 0,
          unsent: 0,
          customers: 0,
          entered: {},
          exited: {},
          allocation: null,
          checkpoint: null,
          error: null,
        };
    // the request's own mistakes are answered now, not found later in a failed record
    if (!existing) {
      const unknown = (ask.channels ?? []).filter((c) => !ruleset.outbound.channels.has(c));
      if (unknown.length > 0)
        throw new RunAskError(
          'invalid',
          `not an outbound channel of rule set ${ruleset.version}: ${unknown.join(', ')} (it has ${[...ruleset.outbound.channels.keys()].join(', ') || 'none'})`,
        );
      for (const c of Object.keys(ask.capacity ?? {}))
        if (!queued.channels.includes(c))
          throw new RunAskError('invalid', `capacity for "${c}", which this run does not decide`);
    }
    this.latest.set(week.key, queued);
    const onRecord = (r: RunRecord) => this.latest.set(week.key, r);
    const inThread = this.o.thread;
    const run = inThread
      ? runInThread(
          {
            redis: inThread.redis,
            source: ruleset.source,
            learning: [...inThread.learning()],
            week: week.key,
            channels: ask.channels,
            capacity: ask.capacity,
            dir: this.folder(week.key),
            // short pipelines: the service's reads wait behind each one in Redis
            batchSize: this.o.batchSize,
            stop: this.stopFlag,
          },
          onRecord,
        )
      : runWeek(this.o.stores, {
          week,
          ruleset,
          model: this.o.model,
          channels: ask.channels,
          capacity: ask.capacity,
          dir: this.folder(week.key),
          records: this.o.records,
          runId: week.key,
          batchSize: this.o.batchSize,
          // between batches, after the checkpoint: where a stop of the service ends the run
          pause: async () => {
            if (this.stopping) throw new Error(STOPPED);
            await this.o.pause?.();
          },
          onRecord,
        });
    const job = run
      .then((r) => {
        this.o.log.info({ week: week.key, counts: r.counts, gap: r.allocation?.gap }, 'outbound run done');
        return r;
      })
      .catch((err: unknown) => {
        const message = (err as Error).message;
        if (message === STOPPED)
          this.o.log.info({ week: week.key }, 'outbound run stopped with the service; ask again to resume it');
        else if (!(err instanceof RunRefused)) this.o.log.error({ err, week: week.key }, 'outbound run failed');
        this.latest.set(week.key, { ...(this.latest.get(week.key) ?? queued), status: 'failed', error: message });
        return undefined;
      })
      .finally(() => this.active.delete(week.key));
    this.active.set(week.key, job);
    return queued;
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const week = parseWeek(runId);
    if (!week) return undefined;
    return this.latest.get(week.key) ?? (await this.o.records.load(week.key));
  }

  /** The path of a finished run's contact list for a channel, or undefined. */
  async file(runId: string, channel: string): Promise<string | undefined> {
    const record = await this.get(runId);
    if (record?.status !== 'done' || !record.channels.includes(channel)) return undefined;
    return join(this.folder(record.week), csvName(channel));
  }

  /** Waits for the runs under way: a stop lets them reach a checkpoint. */
  async settled(): Promise<void> {
    await Promise.all(this.active.values());
  }

  /** Ends the runs under way at their next checkpoint, and waits for them: the service is stopping. */
  async stop(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.stopFlag, 0, 1);
    await this.settled();
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  new Set(a).size === new Set(b).size && a.every((x) => b.includes(x));

const sameCapacity = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
