import { join } from 'node:path';
import type { Logger } from 'pino';
import { LearnedPropensity, LearningState } from '../learning/index.js';
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
  /** the learned counts: a run ranks by them as they are when it starts */
  readonly learning: () => Iterable<readonly [string, Counts]>;
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
  readonly thread?: { readonly redis: RedisRunTarget; readonly decisionLogMaxLen: number; readonly rest: number };
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
    const mine = this.active.get(week.key);
    if (mine) return this.answerFor(this.latest.get(week.key)!, ask);
    // one run at a time on a node, whatever its week: weeks run in order, each reading the last one's state
    const other = [...this.active.keys()][0];
    if (other !== undefined) throw new RunAskError('conflict', `week ${other} is being run; one run at a time`);
    // claimed before any wait, so two requests at once cannot both start it
    let claimed!: (r: RunRecord | undefined) => void;
    this.active.set(week.key, new Promise((resolve) => (claimed = resolve)));
    let record: RunRecord;
    try {
      record = await this.prepare(week.key, ask, ruleset);
    } catch (err) {
      this.active.delete(week.key);
      claimed(undefined);
      throw err;
    }
    if (record.status === 'done') {
      this.active.delete(week.key);
      claimed(record);
      return this.answerFor(record, ask);
    }
    this.latest.set(week.key, record);
    const job = this.launch(week.key, ask, ruleset)
      .then((r) => {
        this.o.log.info({ week: week.key, counts: r.counts, gap: r.allocation?.gap }, 'outbound run done');
        return r;
      })
      .catch((err: unknown) => {
        const message = (err as Error).message;
        if (message === STOPPED)
          this.o.log.info({ week: week.key }, 'outbound run stopped with the service; ask again to resume it');
        else if (!(err instanceof RunRefused)) this.o.log.error({ err, week: week.key }, 'outbound run failed');
        const last = this.latest.get(week.key) ?? record;
        this.latest.set(week.key, {
          ...last,
          status: 'failed',
          error:
            err instanceof RunRefused || message === STOPPED
              ? message
              : 'an unexpected error; the service log has the details',
        });
        return undefined;
      })
      .finally(() => this.active.delete(week.key));
    void job.then(claimed);
    return record;
  }

  /** The week's record as it stands, or a new one queued; refuses what a run of it cannot do. */
  private async prepare(key: string, ask: RunAsk, ruleset: RuleSet): Promise<RunRecord> {
    const existing = await this.o.records.load(key);
    const busy = existing && underWay(existing, (this.o.now ?? Date.now)());
    if (busy) throw new RunAskError('conflict', busy);
    if (existing?.status === 'done') return existing;
    if (existing?.checkpoint) {
      // a stopped run goes on as it started: its version, channels and capacities
      if (existing.rulesetVersion !== ruleset.version)
        throw new RunAskError(
          'conflict',
          `week ${key} stopped midway under rule set ${existing.rulesetVersion}, and ${ruleset.version} is active: activate ${existing.rulesetVersion} to finish it`,
        );
      this.answerFor(existing, ask);
      return { ...existing, status: 'queued' };
    }
    const unknown = (ask.channels ?? []).filter((c) => !ruleset.outbound.channels.has(c));
    if (unknown.length > 0)
      throw new RunAskError(
        'invalid',
        `not an outbound channel of rule set ${ruleset.version}: ${unknown.join(', ')} (it has ${[...ruleset.outbound.channels.keys()].join(', ') || 'none'})`,
      );
    const channels = ask.channels ? [...ask.channels] : [...ruleset.outbound.channels.keys()];
    for (const c of Object.keys(ask.capacity ?? {}))
      if (!channels.includes(c))
        throw new RunAskError('invalid', `capacity for "${c}", which this run does not decide`);
    const at = new Date((this.o.now ?? Date.now)()).toISOString();
    return {
      runId: key,
      week: key,
      status: 'queued',
      rulesetVersion: ruleset.version,
      channels,
      capacity: { ...ask.capacity },
      startedAt: at,
      updatedAt: at,
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
  }

  /** The run that stands answers a request for its week, unless the request asks for other channels or capacities. */
  private answerFor(existing: RunRecord, ask: RunAsk): RunRecord {
    const same =
      (ask.channels === undefined || sameSet(ask.channels, existing.channels)) &&
      (ask.capacity === undefined || sameCapacity(ask.capacity, existing.capacity));
    if (!same)
      throw new RunAskError(
        'conflict',
        `week ${existing.week} was run for ${existing.channels.join(', ')} with capacity ${JSON.stringify(existing.capacity)}; a week is run once: its contacts stand`,
      );
    return existing;
  }

  /** The run itself: in a thread of its own with Redis, else here between decisions; ranking by the counts learned so far. */
  private launch(key: string, ask: RunAsk, ruleset: RuleSet): Promise<RunRecord> {
    const onRecord = (r: RunRecord) => this.latest.set(key, r);
    const learning = [...this.o.learning()];
    const inThread = this.o.thread;
    if (inThread)
      return runInThread(
        {
          redis: inThread.redis,
          decisionLogMaxLen: inThread.decisionLogMaxLen,
          rest: inThread.rest,
          source: ruleset.source,
          learning,
          week: key,
          channels: ask.channels,
          capacity: ask.capacity,
          dir: this.folder(key),
          // short pipelines: the service's reads wait behind each one in Redis
          batchSize: this.o.batchSize,
          stop: this.stopFlag,
        },
        onRecord,
      );
    const snapshot = new LearningState();
    snapshot.replace(learning);
    return runWeek(this.o.stores, {
      week: parseWeek(key)!,
      ruleset,
      model: new LearnedPropensity(snapshot),
      channels: ask.channels,
      capacity: ask.capacity,
      dir: this.folder(key),
      records: this.o.records,
      runId: key,
      batchSize: this.o.batchSize,
      pause: async () => {
        if (this.stopping) throw new Error(STOPPED);
        await this.o.pause?.();
      },
      onRecord,
    });
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const week = parseWeek(runId);
    if (!week) return undefined;
    // another node may have run or resumed it since: the shared record, unless the run is here
    return (
      (this.active.has(week.key) ? this.latest.get(week.key) : undefined) ??
      (await this.o.records.load(week.key)) ??
      this.latest.get(week.key)
    );
  }

  /** The path of a finished run's contact list for a channel, or undefined. */
  async file(runId: string, channel: string): Promise<string | undefined> {
    const week = parseWeek(runId);
    const record = week && (await this.get(week.key));
    if (!week || record?.status !== 'done' || !record.channels.includes(channel)) return undefined;
    return join(this.folder(week.key), csvName(channel));
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
