// Starts the servers under test in child processes, so load generator and server do not share an event loop.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const READY_TIMEOUT_MS = 60_000;
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url)); // RULES_DIR defaults to ./rules
/**
 * The node flags `npm start` runs the service with (package.json): every server of the bench gets
 * them, the bare endpoint too, so that both sides of a ratio run on the same runtime settings.
 */
export const RUNTIME_FLAGS = startFlags(
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts.start,
);

/** The `--name=value` words between `node` and the script in a start command; anything else there is refused. */
function startFlags(command) {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`package.json's start script does not begin with node: ${command}`);
  const flags = [];
  for (const word of words.slice(1)) {
    if (!word.startsWith('-')) break;
    if (!/^--[\w-]+=\S+$/.test(word))
      throw new Error(`package.json's start script: give node's flags as --name=value, not ${word}`);
    flags.push(word);
  }
  return flags;
}
const children = new Set();

/**
 * Where each side runs: with taskset and at least two cores (and BENCH_PIN not 0), the servers on
 * the last core and the load generator (this process) on the others, so neither takes the other's
 * CPU; `pinned` is null when they share the machine.
 */
function pinning() {
  const cores = availableParallelism();
  if (process.env.BENCH_PIN === '0' || process.platform !== 'linux' || cores < 2) return null;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', `0-${cores - 2}`, String(process.pid)], { stdio: 'ignore' });
  } catch {
    return null; // no taskset
  }
  return { server: String(cores - 1), generator: cores === 2 ? '0' : `0-${cores - 2}`, all: `0-${cores - 1}` };
}
export const pinned = pinning();

/** Pins a process's every thread to the server core (or the load generator's cores, or every core). */
export function pin(pid, where = 'server') {
  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', pinned[where], String(pid)], { stdio: 'ignore' });
}
// the decision log is written as in production, into a directory of its own that leaves with the bench
const DECISION_LOG_DIR = mkdtempSync(join(tmpdir(), 'nextbest-bench-decisions-'));

/** Forks `file` (relative to bench/), waits for it to report its port, returns {name, url, child}. */
function start(name, file, env = {}, execArgv = [], { pinnable = true } = {}) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    execArgv: [...RUNTIME_FLAGS, ...execArgv],
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
      // an unpinned server is given every core back: it was forked with this process's mask
      for (const p of new Set([child.pid, ...(pids ?? [])])) pin(p, pinnable ? 'server' : 'all');
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

const nextbestEnv = (customers, rulesDir, redisUrl) => ({
  DEMO_CUSTOMERS: String(customers),
  LOG_LEVEL: 'error',
  PORT: '0',
  HOST: '127.0.0.1',
  API_KEYS: '', // empty = unset: the bench measures decisions, not auth
  PROFILES_FILE: '',
  RULES_DIR: rulesDir,
  DECISION_LOG_DIR,
  ...(redisUrl && { PROFILE_STORE: 'redis', REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: '' }),
});

/**
 * The nextbest service with a generated population: on the embedded default, or with
 * `redisUrl` on PROFILE_STORE=redis (the population imported there); `pinnable: false` leaves it
 * free of the server core; `dist`: another build's dist/ folder than this tree's, under `name`.
 * BENCH_CPU_PROF=DIR profiles it.
 */
export function startNextbest(customers, rulesDir, { redisUrl, pinnable = true, dist, name } = {}) {
  const prof = process.env.BENCH_CPU_PROF;
  return start(
    name ?? (redisUrl ? 'nextbest (redis)' : 'nextbest'),
    './serve-nextbest.js',
    { ...nextbestEnv(customers, rulesDir, redisUrl), BENCH_DIST: dist ?? '' },
    prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`] : [],
    { pinnable },
  );
}

/** The same, as `workers` node:cluster workers sharing one port (the primary forks them). */
export function startNextbestCluster(customers, rulesDir, workers) {
  // unpinned: the workers are to use every core
  return start(
    `nextbest × ${workers} workers`,
    './serve-cluster.js',
    { ...nextbestEnv(customers, rulesDir), BENCH_WORKERS: String(workers) },
    [],
    { pinnable: false },
  );
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
