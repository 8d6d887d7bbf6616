// A worker thread's entry: one week's outbound run on the service's Redis, off the thread that answers decisions.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { LearnedPropensity, LearningState } from '../learning/index.js';
import { compileRuleSet } from '../rules/ruleset.js';
import { withRedisRun } from './redis-run.js';
import { RunRefused, runWeek, STOPPED } from './run.js';
import type { ThreadJob } from './thread.js';
import { parseWeek } from './week.js';

const job = workerData as ThreadJob;
let rested = performance.now();
// the lowest CPU priority, for this thread alone (Linux keeps one per thread): decisions first
try {
  setPriority(19);
} catch {
  // a platform without per-thread priority: the run just competes
}
const learning = new LearningState();
learning.replace(job.learning);

withRedisRun({ ...job.redis, decisionLogMaxLen: job.decisionLogMaxLen }, (stores, records) =>
  runWeek(stores, {
    week: parseWeek(job.week)!,
    ruleset: compileRuleSet(job.source),
    model: new LearnedPropensity(learning),
    channels: job.channels,
    capacity: job.capacity,
    dir: job.dir,
    records,
    runId: job.week,
    batchSize: job.batchSize,
    pause: async () => {
      if (Atomics.load(job.stop, 0) === 1) throw new Error(STOPPED);
      // at rest for a share of the time the batch took (OUTBOUND_REST): Redis serves the decisions' reads in between
      const worked = performance.now() - rested;
      await new Promise((resolve) => setTimeout(resolve, Math.min(worked * job.rest, 1_000)));
      rested = performance.now();
    },
    onRecord: (record) => parentPort!.postMessage({ kind: 'record', record }),
  }),
).then(
  (record) => parentPort!.postMessage({ kind: 'done', record }),
  (err: unknown) =>
    parentPort!.postMessage({ kind: 'failed', refused: err instanceof RunRefused, message: (err as Error).message }),
);
