// Starts the servers under test in child processes, so load generator and server do not share an event loop.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const READY_TIMEOUT_MS = 60_000;
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url)); // RULES_DIR defaults to ./rules
const children = new Set();
// the decision log is written as in production, into a directory of its own that leaves with the bench
const DECISION_LOG_DIR = mkdtempSync(join(tmpdir(), 'nextbest-bench-decisions-'));

/** Forks `file` (relative to bench/), waits for it to report its port, returns {name, url, child}. */
function start(name, file, env = {}, execArgv = []) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((ready, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    );
    child.once('message', ({ port, pids }) => {
      clearTimeout(timer);
      child.once('exit', (code, signal) => {
        if (!child.stopping) die(`${name} server exited during the benchmark (code ${code}, signal ${signal})`);
      });
      ready({ name, url: `http://127.0.0.1:${port}`, child, pids: pids ?? [child.pid] });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited at start with code ${code}`));
    });
  });
}

const nextbestEnv = (customers, rulesDir) => ({
  DEMO_CUSTOMERS: String(customers),
  LOG_LEVEL: 'error',
  PORT: '0',
  HOST: '127.0.0.1',
  API_KEYS: '', // empty = unset: the bench measures decisions, not auth
  PROFILES_FILE: '',
  RULES_DIR: rulesDir,
  DECISION_LOG_DIR,
});

/** The nextbest service on the embedded default with a generated population; BENCH_CPU_PROF=DIR profiles it. */
export function startNextbest(customers, rulesDir) {
  const prof = process.env.BENCH_CPU_PROF;
  return start(
    'nextbest',
    './serve-nextbest.js',
    nextbestEnv(customers, rulesDir),
    prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`] : [],
  );
}

/** The same, as `workers` node:cluster workers sharing one port (the primary forks them). */
export function startNextbestCluster(customers, rulesDir, workers) {
  return start(`nextbest × ${workers} workers`, './serve-cluster.js', {
    ...nextbestEnv(customers, rulesDir),
    BENCH_WORKERS: String(workers),
  });
}

/** `answers`: a decision per channel, for the decision-sized endpoint. */
export function startBare(answers) {
  const prof = process.env.BENCH_CPU_PROF;
  return start(
    'bare',
    './serve-bare.js',
    { BARE_ANSWERS: JSON.stringify(answers) },
    prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`] : [],
  );
}

/** Asks every child to leave (SIGTERM → process.exit, so profiles get written) and waits a moment. */
export async function stopAll(graceMs = 5_000) {
  const exits = [...children].map((child) => {
    child.stopping = true;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    return Promise.race([exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
  });
  await Promise.all(exits);
  for (const child of children) child.kill('SIGKILL');
}

/** Stops the children (gracefully, then by force) and leaves with `code`. */
function leave(code, message) {
  if (message) console.error(`\n!!! ${message}`);
  stopAll(2_000).finally(() => process.exit(code));
}
export const die = (message) => leave(1, message);

// whatever way the parent leaves, the children go too
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(DECISION_LOG_DIR, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.once(signal, () => leave(128 + constants.signals[signal], `${signal}: stopping the servers`));
process.on('uncaughtException', (err) => die(`benchmark failed: ${err.stack ?? err}`));
process.on('unhandledRejection', (err) => die(`benchmark failed: ${err?.stack ?? err}`));
