import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a run's files stood at its last checkpoint: bytes per file name. */
export type FileMarks = Readonly<Record<string, number>>;

/** A run that cannot start as asked: a problem of the request or of what it finds, not of the run. */
export class RunRefused extends Error {}

export type RunStatus = 'queued' | 'running' | 'done' | 'failed';

/** What a run has allocated: the expected value it chose and how close that is to the best possible. */
export interface AllocationSummary {
  readonly candidates: number;
  readonly chosen: number;
  /** total expected value (arbitration score) of the contacts chosen */
  readonly total: number;
  /** an upper bound on the linear-programming relaxation's optimum: no allocation can beat it */
  readonly bound: number;
  /** (bound − total) ÷ bound */
  readonly gap: number;
  /** per channel: the capacity, null when unlimited */
  readonly capacity: Readonly<Record<string, number | null>>;
}

/** A run as its record keeps it: enough to report on it and to resume it. */
export interface RunRecord {
  readonly runId: string;
  readonly week: string;
  readonly status: RunStatus;
  readonly rulesetVersion: string;
  readonly channels: readonly string[];
  /** capacities asked for with the run, over the rule set's */
  readonly capacity: Readonly<Record<string, number>>;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly phase: 'scan' | 'allocate' | 'write' | 'done';
  readonly progress: { readonly done: number; readonly total: number | null };
  /** contacts per channel */
  readonly counts: Readonly<Record<string, number>>;
  /** decisions of control-group customers whose step was held out: logged, not sent */
  readonly heldOut: number;
  /** decisions of customers a step was due for who got no contact: capacity, a cap, nothing eligible */
  readonly unsent: number;
  readonly customers: number;
  readonly entered: Readonly<Record<string, number>>;
  readonly exited: Readonly<Record<string, number>>;
  readonly allocation: AllocationSummary | null;
  /**
   * How far the writing got: the last customer written (in ID order, or in the file's order when
   * the profiles are read again), the customers of the first pass's list written (`position`),
   * and the files' lengths then
   */
  readonly checkpoint: {
    readonly after: string | null;
    /** the first customer of the batch the checkpoint was taken after (in ID order): its writes may not have landed */
    readonly from?: string;
    readonly position: number;
    readonly files: FileMarks;
  } | null;
  /** customers left out: contact state unreadable, listed twice, or written by a later week's run */
  readonly skipped?: { readonly unread: number; readonly duplicates: number; readonly later: number };
  /** what the run read besides its stores, pinned for a resume (outbound run: the profile file and --previous) */
  readonly inputs?: string;
  readonly error: string | null;
  /** the process running it: a record of a process that is gone may be resumed at once */
  readonly owner?: RunOwner;
}

export interface RunOwner {
  readonly host: string;
  readonly pid: number;
}

/** Where run records live: the run's folder (memory stores), or Redis beside the stores. */
export interface RunRecords {
  load(week: string): Promise<RunRecord | undefined>;
  save(record: RunRecord): Promise<void>;
}

export const RUN_FILE = 'run.json';

/** The record as `run.json` in the run's folder, replaced whole (write, then rename). */
export class FolderRecords implements RunRecords {
  constructor(private readonly dirOf: (week: string) => string) {}

  async load(week: string): Promise<RunRecord | undefined> {
    const text = await readFile(join(this.dirOf(week), RUN_FILE), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const record = JSON.parse(text) as RunRecord;
    return record.week === week ? record : undefined;
  }

  async save(record: RunRecord): Promise<void> {
    const path = join(this.dirOf(record.week), RUN_FILE);
    await writeFile(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }
}

/** The subset of an ioredis client the Redis records use. */
export interface RecordClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
}

/** The record as one JSON string per week in Redis: any node can report on a run and resume it. */
export class RedisRecords implements RunRecords {
  constructor(
    private readonly client: RecordClient,
    private readonly keyOf: (week: string) => string,
  ) {}

  async load(week: string): Promise<RunRecord | undefined> {
    const text = await this.client.get(this.keyOf(week));
    return text === null ? undefined : (JSON.parse(text) as RunRecord);
  }

  async save(record: RunRecord): Promise<void> {
    await this.client.set(this.keyOf(record.week), JSON.stringify(record));
  }
}
