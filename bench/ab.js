// npm run bench:ab -- [A] [B] — two builds side by side in one run: what B costs against A in server
// CPU per decision, with a confidence interval. A and B are git refs, or `.` for the working tree
// (defaults: HEAD against the working tree). Each ref is checked out in a worktree of its own and
// installed there (npm ci, which builds it); both servers then take turns, A first in odd rounds
// and B first in even ones, so that the machine's drift falls on both alike.
// BENCH_ROUNDS (8, at least 3), BENCH_SECONDS (5), BENCH_WARMUP (10 s per server), BENCH_STORE
// (memory or redis: each server then has a redis-server of its own), BENCH_OFFERS (60),
// BENCH_CUSTOMERS (20 000), BENCH_PIN (1; 0 leaves the processes unpinned).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pairedRatio } from './ab-stats.js';
import { makeBodies } from './bodies.js';
import { writeCatalogue } from './catalogue.js';
import { cpuSeconds } from './cpu.js';
import { load } from './load.js';
import { importPopulation, startRedis } from './redis.js';
import { median } from './report.js';
import { die, pin, pinned, RUNTIME_FLAGS, startNextbest, stopAll } from './servers.js';

const env = process.env;
/** Refuses before anything has started: nothing to stop or clean. */
function refuse(message) {
  console.error(`!!! ${message}`);
  process.exit(2);
}
/** A number from the environment, or the default; anything else refused before work starts. */
function setting(name, fallback, least) {
  const raw = env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < least) refuse(`${name} must be a number of at least ${least}, not ${raw}`);
  return n;
}
// an even number of rounds: A goes first as often as B
const ROUNDS = 2 * Math.ceil(setting('BENCH_ROUNDS', 8, 3) / 2);
const SECONDS = setting('BENCH_SECONDS', 5, 1);
const WARMUP = setting('BENCH_WARMUP', 10, 0);
const STORE = env.BENCH_STORE || 'memory';
const OFFERS = setting('BENCH_OFFERS', 60, 37);
const CUSTOMERS = setting('BENCH_CUSTOMERS', 20_000, 100);
const CONNECTIONS = 32;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

if (!['memory', 'redis'].includes(STORE)) refuse(`BENCH_STORE is memory or redis, not ${STORE}`);
if (cpuSeconds(process.pid) === null) refuse('CPU per process is read from /proc: the A/B bench needs Linux');
const [refA = 'HEAD', refB = '.'] = process.argv.slice(2);
if (refA === refB) refuse(`A and B are the same (${refA}): name two builds, e.g. npm run bench:ab -- main .`);

const git = (...args) =>
  execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
/** The commit a ref names (undefined for the working tree), checked before anything is installed. */
function commitOf(ref) {
  if (ref === '.') return undefined;
  try {
    return git('rev-parse', '--verify', '--short', `${ref}^{commit}`);
  } catch {
    return refuse(`${ref} is not a commit of this repository`);
  }
}
const shas = [commitOf(refA), commitOf(refB)];

// worktrees a run left when it was killed outright: removed, so they do not pile up in the temporary folder
const LEFT = join(os.tmpdir(), 'nextbest-ab-');
for (const line of git('worktree', 'list', '--porcelain').split('\n')) {
  const dir = line.startsWith('worktree ') ? line.slice('worktree '.length) : '';
  if (dir.startsWith(LEFT)) {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {}
  }
}
git('worktree', 'prune');

const worktrees = [];
process.on('exit', () => {
  for (const dir of worktrees) {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      try {
        git('worktree', 'prune');
      } catch {}
    }
  }
});

/**
 * A side's build: the working tree (built in place), or a commit checked out and installed in a
 * worktree of its own. `root` is the tree whose bin/ writes the population into a side's Redis.
 */
function build(ref, sha) {
  if (sha === undefined) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    const dirty = git('status', '--porcelain') !== '';
    return { label: `working tree (${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + changes' : ''})`, root: ROOT };
  }
  const dir = mkdtempSync(join(os.tmpdir(), `nextbest-ab-${sha}-`));
  worktrees.push(dir);
  git('worktree', 'add', '--detach', dir, sha);
  console.log(`installing ${ref} (${sha}) in ${dir} …`);
  // npm ci runs the prepare script, which builds (with the dev dependencies, whatever NODE_ENV says)
  execFileSync('npm', ['ci', '--include=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { label: `${ref} (${sha})`, root: dir, dist: join(dir, 'dist') };
}

const sides = [
  { key: 'A', ...build(refA, shas[0]) },
  { key: 'B', ...build(refB, shas[1]) },
];

const rulesDir = mkdtempSync(join(os.tmpdir(), 'nextbest-ab-rules-'));
process.on('exit', () => rmSync(rulesDir, { recursive: true, force: true }));
writeCatalogue(rulesDir, OFFERS);
const { bodies } = makeBodies(CUSTOMERS);

console.log(
  `\nnextbest A/B — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}; ` +
    `${STORE} store, ${OFFERS} offers, ${CUSTOMERS} customers; ${ROUNDS} rounds × ${SECONDS} s per server after ${WARMUP} s of warm-up; ` +
    `node flags ${RUNTIME_FLAGS.join(' ') || 'none'}`,
);
console.log(
  pinned
    ? `pinned with taskset: the servers on core ${pinned.server}, the load generator${STORE === 'redis' ? ' and redis-servers' : ''} on ${pinned.generator}`
    : 'not pinned: servers and load generator share the machine',
);
for (const s of sides) console.log(`  ${s.key}: ${s.label}`);

for (const s of sides) {
  if (STORE === 'redis') {
    s.redis = await startRedis((pid) => pin(pid, 'generator'));
    // with the side's own command: profiles as that build writes them
    importPopulation(s.redis, CUSTOMERS, join(s.root, 'bin', 'nextbest.js'));
  }
  s.server = await startNextbest(CUSTOMERS, rulesDir, {
    redisUrl: s.redis?.url,
    dist: s.dist,
    name: `${s.key} (${s.label})`,
  });
  s.cpu = [];
  s.redisCpu = [];
  s.rates = [];
}

const run = (s, seconds) =>
  load({
    url: s.server.url,
    path: '/v1/decisions',
    seconds,
    connections: CONNECTIONS,
    bodies,
    pid: s.server.child.pid,
  });

// warm-up: the JIT, and the customers' contact state towards the caps the rounds will find
for (const s of sides) await run(s, WARMUP);

console.log(`\n round  server   decisions/s  CPU µs/decision${STORE === 'redis' ? '  Redis µs/decision' : ''}`);
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? sides : [...sides].reverse();
  for (const s of order) {
    const redisBefore = s.redis ? cpuSeconds(s.redis.pid) : null;
    const r = await run(s, SECONDS);
    if (r.failed > 0) {
      die(`${s.key} failed ${r.failed} requests in round ${round} (${JSON.stringify(r.statusCodes)})`);
      await new Promise(() => {}); // die stops the servers and leaves
    }
    s.cpu.push(r.serverCpuUsPerRequest);
    s.rates.push(r.reqPerSec);
    const redisUs = redisBefore === null ? null : ((cpuSeconds(s.redis.pid) - redisBefore) * 1e6) / r.ok;
    if (redisUs !== null) s.redisCpu.push(redisUs);
    console.log(
      `${String(round).padStart(6)}  ${s.key.padEnd(6)} ${Math.round(r.reqPerSec).toLocaleString('en').padStart(12)}` +
        `  ${r.serverCpuUsPerRequest.toFixed(1).padStart(15)}` +
        (redisUs === null ? '' : `  ${redisUs.toFixed(1).padStart(18)}`),
    );
  }
}
await stopAll();
for (const s of sides) s.redis?.stop();

const [A, B] = sides;
const cpu = pairedRatio(A.cpu, B.cpu);
const redis = STORE === 'redis' ? pairedRatio(A.redisCpu, B.redisCpu) : null;
const pct = (x) => `${x >= 1 ? '+' : '−'}${Math.abs((x - 1) * 100).toFixed(1)} %`;
const line = (what, r) =>
  `${what}: B ÷ A = ${r.ratio.toFixed(3)} (${pct(r.ratio)}), ${Math.round(r.level * 100)} % interval ` +
  `${r.low.toFixed(3)}–${r.high.toFixed(3)} over ${r.n} paired rounds (by round ${r.rounds.map((x) => x.toFixed(2)).join(' ')})`;
console.log(`\nmedian CPU µs per decision: A ${median(A.cpu).toFixed(1)}, B ${median(B.cpu).toFixed(1)}`);
console.log(line('server CPU per decision', cpu));
if (redis) console.log(line('Redis CPU per decision', redis));
const verdict = (what, r) =>
  `${what}: ${r.high < 1 ? 'B is cheaper' : r.low > 1 ? 'B is dearer' : 'no difference this run can tell'} ` +
  `(the interval ${r.high < 1 || r.low > 1 ? 'excludes' : 'includes'} 1)`;
console.log(verdict('server CPU', cpu));
if (redis) console.log(verdict('Redis CPU', redis));

const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `ab-${new Date().toISOString().replace(/:/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      at: new Date().toISOString(),
      node: process.version,
      store: STORE,
      offers: OFFERS,
      customers: CUSTOMERS,
      rounds: ROUNDS,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      pinned,
      runtimeFlags: RUNTIME_FLAGS,
      sides: sides.map((s) => ({
        key: s.key,
        label: s.label,
        cpuUsPerDecision: s.cpu,
        decisionsPerSec: s.rates,
        redisCpuUsPerDecision: s.redisCpu,
      })),
      cpu,
      redis,
    },
    null,
    2,
  )}\n`,
);
console.log(`results: ${file}`);
process.exit(0);
