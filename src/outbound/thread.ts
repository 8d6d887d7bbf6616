import { Worker } from 'node:worker_threads';
import type { Counts } from '../learning/posterior.js';
import { compiledWorker } from '../ops/threads.js';
import type { RuleSetSource } from '../rules/load.js';
import type { RunRecord } from './records.js';
import type { RedisRunTarget } from './redis-run.js';
import { RunRefused } from './run.js';

/** What a run in a worker thread is given: everything it needs, as plain data. */
export interface ThreadJob {
  readonly redis: RedisRunTarget;
  /** the service's DECISION_LOG_MAXLEN: the run's decisions go to the same stream, capped the same */
  readonly decisionLogMaxLen: number;
  /** the rule set as validated: the thread compiles its own copy, which has the same version */
  readonly source: RuleSetSource;
  /** the learned counts at the start: the run ranks by these */
  readonly learning: readonly (readonly [string, Counts])[];
  readonly week: string;
  readonly channels: readonly string[] | undefined;
  readonly capacity: Readonly<Record<string, number>> | undefined;
  readonly dir: string;
  readonly batchSize: number | undefined;
  /** after each batch the run rests this share of the time the batch took (OUTBOUND_REST) */
  readonly rest: number;
  /** set to 1 by the service when it stops: the run ends at its next checkpoint */
  readonly stop: Int32Array;
}

type Message =
  | { kind: 'record'; record: RunRecord }
  | { kind: 'done'; record: RunRecord }
  | { kind: 'failed'; refused: boolean; message: string };

const WORKER = compiledWorker('outbound/run-worker.js');
/** Its heap: a run keeps its candidates and customer IDs, about 100 bytes a customer. */
const WORKER_HEAP_MB = 1_536;

/**
 * A Redis-backed run in a worker thread with its own connection: the thread that answers
 * decisions neither computes nor waits for it. Its records come back as it saves them.
 */
export function runInThread(job: ThreadJob, onRecord: (record: RunRecord) => void): Promise<RunRecord> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    let settled = false;
    worker.on('message', (m: Message) => {
      if (m.kind === 'record') return onRecord(m.record);
      settled = true;
      void worker.terminate();
      if (m.kind === 'done') resolve(m.record);
      else reject(m.refused ? new RunRefused(m.message) : new Error(m.message));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the run's thread stopped (code ${code})`));
    });
  });
}
