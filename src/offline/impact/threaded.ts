import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../../ops/threads.js';
import type { ImpactReport } from './impact.js';
import type { ImpactSources } from './read.js';

/** The worker's heap: the report's memory grows with the customers decided for (a million fit well within). */
const WORKER_HEAP_MB = 1_536;

const WORKER = compiledWorker('offline/impact/worker.js');

/** The report failed on its input (a file unreadable, Redis unreachable) or ran out of time. */
export class ImpactError extends Error {}

/**
 * One impact report, computed in a worker thread so the thread that answers decisions never
 * waits on it; stopped after `timeoutMs`.
 */
export function impactInThread(sources: ImpactSources, timeoutMs: number): Promise<ImpactReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      workerData: sources,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new ImpactError(`the report took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`));
    }, timeoutMs);
    worker.once('message', (m: { ok: true; report: ImpactReport } | { ok: false; message: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok) resolve(m.report);
      else reject(new ImpactError(m.message));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(new ImpactError(err.message));
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ImpactError(`the report's thread stopped (code ${code})`));
    });
  });
}
