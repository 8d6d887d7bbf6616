// npm run bench:outbound — what an outbound run costs, and what it costs the inbound decisions.
// 1. `nextbest outbound run` over OUTBOUND_CUSTOMERS (1,000,000) generated profiles from a file,
//    two consecutive weeks (the first: every customer enters a journey; the second goes on from
//    the first's state), pinned to one core with taskset when there is one: wall time, CPU time
//    (user + system) and peak resident memory, as /usr/bin/time reports them.
// 2. With Redis: the service on PROFILE_STORE=redis over OUTBOUND_REDIS_CUSTOMERS (100,000)
//    imported profiles answers decisions at OUTBOUND_RATE (300/s, open loop, latency from the
//    intended send time); p50/p99 with no run, then while POST /v1/outbound/runs scans, in
//    OUTBOUND_ROUNDS (3) alternating rounds of OUTBOUND_WINDOW_SECONDS (10), a new week each.
// OUTBOUND_PARTS=file,redis (both) picks the parts.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBodies } from './bodies.js';
import { fixedRate } from './fixed-rate.js';
import { die, startNextbest, stopAll } from './servers.js';

const env = process.env;
const CUSTOMERS = Number(env.OUTBOUND_CUSTOMERS || 1_000_000);
const REDIS_CUSTOMERS = Number(env.OUTBOUND_REDIS_CUSTOMERS || 100_000);
const RATE = Number(env.OUTBOUND_RATE || 300);
const WINDOW_SECONDS = Number(env.OUTBOUND_WINDOW_SECONDS || 10);
const PARTS = (env.OUTBOUND_PARTS || 'file,redis').split(',');
const ROUNDS = Number(env.OUTBOUND_ROUNDS || 3);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'nextbest.js');
const tmp = mkdtempSync(join(os.tmpdir(), 'nextbest-bench-outbound-'));

const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const TASKSET = has('taskset') && os.cpus().length > 1;
const TIME = existsSync('/usr/bin/time');

/** Runs the CLI, pinned and timed where the machine allows; returns its output and what it used. */
function timed(args) {
  const command = [
    ...(TIME ? ['/usr/bin/time', '-f', 'TIME %e %U %S %M'] : []),
    ...(TASKSET ? ['taskset', '-c', '0'] : []),
    process.execPath,
    CLI,
    ...args,
  ];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(err);
      resolve({
        out: out.trim(),
        wallS: m ? Number(m[1]) : (performance.now() - started) / 1e3,
        cpuS: m ? Number(m[2]) + Number(m[3]) : null,
        rssMb: m ? Number(m[4]) / 1024 : null,
      });
    });
  });
}

const fmt = (x, d = 1) => (x === null ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: d }));

async function fileRuns() {
  const profiles = join(tmp, 'profiles.ndjson');
  execFileSync('sh', ['-c', `"${process.execPath}" "${CLI}" demo-data --customers ${CUSTOMERS} > "${profiles}"`]);
  console.log(
    `outbound run — ${fmt(CUSTOMERS, 0)} profiles from a file, shipped rules; ${TASKSET ? 'pinned to one core (taskset -c 0)' : 'not pinned'}; node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.split(' ')[0] ?? 'CPU'}`,
  );
  const weeks = [
    ['2026-W50', []],
    ['2026-W51', ['--previous', join(tmp, '2026-W50')]],
  ];
  for (const [week, extra] of weeks) {
    const r = await timed([
      'outbound',
      'run',
      '--week',
      week,
      '--profiles',
      profiles,
      '--out',
      join(tmp, week),
      ...extra,
    ]);
    console.log(`  ${r.out}`);
    console.log(
      `  ${week}: ${fmt(r.wallS)} s wall, ${fmt(r.cpuS)} s CPU, ${fmt(CUSTOMERS / r.wallS, 0)} customers/s, peak memory ${fmt(r.rssMb, 0)} MB`,
    );
  }
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function redisRun() {
  if (!has('redis-server')) {
    console.log('inbound while a Redis run scans: skipped, redis-server is not installed');
    return;
  }
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  try {
    await new Promise((r) => setTimeout(r, 500));
    const profiles = join(tmp, 'redis-profiles.ndjson');
    execFileSync('sh', [
      '-c',
      `"${process.execPath}" "${CLI}" demo-data --customers ${REDIS_CUSTOMERS} > "${profiles}" && "${process.execPath}" "${CLI}" profiles import "${profiles}" --redis ${url}`,
    ]);
    Object.assign(process.env, {
      PROFILE_STORE: 'redis',
      REDIS_URL: url,
      OUTBOUND_DIR: join(tmp, 'service-runs'),
      REDIS_DEADLINE_MS: '50',
    });
    const nextbest = await startNextbest(0, join(ROOT, 'rules'));
    const { bodies } = makeBodies(REDIS_CUSTOMERS);
    const measure = () =>
      fixedRate({
        url: nextbest.url,
        path: '/v1/decisions',
        rate: RATE,
        seconds: WINDOW_SECONDS,
        connections: 32,
        bodies,
        warmupSeconds: 0,
      });
    await measure(); // warm-up: JIT, profile cache
    console.log(
      `inbound while a Redis run scans — ${fmt(REDIS_CUSTOMERS, 0)} customers in Redis, ${RATE} decisions/s open loop, ${WINDOW_SECONDS} s windows, ${ROUNDS} rounds of: no run, then a run of the next week`,
    );
    const before = [];
    const during = [];
    for (let round = 0; round < ROUNDS; round++) {
      const week = `2026-W${50 + round}`;
      before.push(await measure());
      const started = performance.now();
      const post = await fetch(`${nextbest.url}/v1/outbound/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ week }),
      });
      if (post.status !== 202) die(`POST /v1/outbound/runs answered ${post.status}`);
      during.push(await measure());
      let run;
      for (;;) {
        run = await (await fetch(`${nextbest.url}/v1/outbound/runs/${week}`)).json();
        if (run.status === 'done' || run.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const runS = (performance.now() - started) / 1e3;
      const p99 = (r) => fmt(r.latencyMs.p99, 2);
      console.log(
        `  ${week}: p99 ${p99(before[round])} ms with no run, ${p99(during[round])} ms while it ran (${run.status} in ${fmt(runS)} s${runS < WINDOW_SECONDS ? ': it ended inside the window' : ''}); p50 ${fmt(before[round].latencyMs.p50, 2)} → ${fmt(during[round].latencyMs.p50, 2)} ms; errors ${before[round].errors + during[round].errors}`,
      );
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const b99 = median(before.map((r) => r.latencyMs.p99));
    const d99 = median(during.map((r) => r.latencyMs.p99));
    console.log(
      `  median p99: ${fmt(b99, 2)} ms with no run, ${fmt(d99, 2)} ms while a run scans: ratio ${fmt(d99 / b99, 2)}`,
    );
  } finally {
    await stopAll();
    redis.kill();
  }
}

try {
  if (PARTS.includes('file')) await fileRuns();
  if (PARTS.includes('redis')) await redisRun();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
