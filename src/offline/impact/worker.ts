// A worker thread's entry: computes one impact report off the thread that answers decisions.
import { parentPort, workerData } from 'node:worker_threads';
import { type ImpactSources, impactReport } from './read.js';

impactReport(workerData as ImpactSources).then(
  (report) => parentPort!.postMessage({ ok: true, report }),
  (err: unknown) => parentPort!.postMessage({ ok: false, message: (err as Error).message ?? String(err) }),
);
