// npm run bench — nextbest decisions vs a bare hono endpoint, alternating A B A B, then a fixed-rate run.
// BENCH_SECONDS (10), BENCH_ROUNDS (3, at least 2), BENCH_MIN_RATIO (unset: never fails), BENCH_CPU_PROF=DIR.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { makeBodies } from './bodies.js';
import { fixedRate } from './fixed-rate.js';
import { diffHistogram, gauge, histogramTotals, parseHistogram, quantile, total } from './histogram.js';
import { load } from './load.js';
import { median, pct, printFailures, printFixedRate, printHeader, printRound, printServerSide, printSummary } from './report.js';
import { die, startBare, startNextbest, stopAll } from './servers.js';

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS || 10);
const ROUNDS = Math.max(2, Number(env.BENCH_ROUNDS || 3));
const MIN_RATIO = env.BENCH_MIN_RATIO ? Number(env.BENCH_MIN_RATIO) : undefined;
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CONNECTIONS = 32;
const CUSTOMERS = 20_000;
const FIXED_RATE_SHARE = 0.5;

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** One request of each kind before loading: a benchmark of 400s would measure nothing. */
async function smokeTest(nextbest, bare) {
  const checks = [
    [{ customerId: 'C0000001', channel: 'web' }, (b) => b.profile?.found === true && Array.isArray(b.offers)],
    [{ customerId: 'C0000002', channel: 'call-center', context: { intent: 'cancel' } }, (b) => b.profile?.found === true],
    [{ customerId: `C${String(CUSTOMERS + 1).padStart(7, '0')}`, channel: 'web' }, (b) => b.profile?.found === false],
  ];
  for (const [body, ok] of checks) {
    const res = await post(`${nextbest.url}/v1/decisions`, body);
    if (res.status !== 200 || !ok(res.body)) throw new Error(`smoke test: ${JSON.stringify(body)} got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  const echo = await post(`${bare.url}/echo`, checks[0][0]);
  if (echo.status !== 200 || echo.body.customerId !== 'C0000001') throw new Error(`smoke test: the bare server answered ${echo.status}`);
}

/**
 * What /metrics says now: the decision-time histogram (both channels summed), GC totals, and the
 * longest event-loop delay since the previous scrape (prom-client resets it on every read).
 */
async function scrape(nextbest) {
  const text = await (await fetch(`${nextbest.url}/metrics`)).text();
  return {
    decisions: parseHistogram(text, 'nextbest_decision_duration_seconds'),
    gc: histogramTotals(text, 'nextbest_nodejs_gc_duration_seconds'),
    loopDelayMaxSeconds: gauge(text, 'nextbest_nodejs_eventloop_lag_max_seconds'),
  };
}
/** What the service itself measured between two scrapes. */
const serverSide = (after, before) => {
  const h = diffHistogram(after.decisions, before.decisions);
  return {
    decisions: total(h), p50: quantile(h, 0.5), p99: quantile(h, 0.99),
    gcCount: after.gc.count - before.gc.count, gcSeconds: after.gc.seconds - before.gc.seconds,
    loopDelayMaxSeconds: after.loopDelayMaxSeconds,
  };
};

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null; // no commit yet, or no git
  }
}

async function main() {
  const startedAt = new Date();
  const { bodies, mix, size } = makeBodies(CUSTOMERS);
  console.log(`nextbest bench — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, load average ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${ROUNDS} rounds × ${SECONDS} s per server, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up each`);
  console.log(`bodies: ${size} over ${CUSTOMERS} customers — ${pct(mix.unknown / size)} unknown IDs, ${pct(mix.web / size)} web, ` +
    `${pct(mix.callCenter / size)} call-center (${pct(mix.cancel / size)} of all with intent "cancel")\n`);

  const [nextbest, bare] = await Promise.all([startNextbest(CUSTOMERS), startBare()]);
  await smokeTest(nextbest, bare);
  const A = { url: nextbest.url, path: '/v1/decisions', connections: CONNECTIONS, bodies, pid: nextbest.child.pid };
  const B = { url: bare.url, path: '/echo', connections: CONNECTIONS, bodies, pid: bare.child.pid };
  await load({ ...A, seconds: WARMUP_SECONDS });
  await load({ ...B, seconds: WARMUP_SECONDS });

  const before = await scrape(nextbest);
  printHeader();
  const rounds = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const a = await load({ ...A, seconds: SECONDS });
    const b = await load({ ...B, seconds: SECONDS });
    rounds.push({ round: i, nextbest: a, bare: b, ratio: a.reqPerSec / b.reqPerSec, failed: a.failed + b.failed });
    printRound(rounds.at(-1));
  }
  const afterRounds = await scrape(nextbest);
  const of = (pick) => median(rounds.map(pick));
  const summary = {
    ratio: of((r) => r.ratio),
    ratioRange: [Math.min(...rounds.map((r) => r.ratio)), Math.max(...rounds.map((r) => r.ratio))],
    decisionsPerSec: of((r) => r.nextbest.reqPerSec),
    bareReqPerSec: of((r) => r.bare.reqPerSec),
    decisionLatencyMs: { p50: of((r) => r.nextbest.latencyMs.p50), p99: of((r) => r.nextbest.latencyMs.p99), p99_9: of((r) => r.nextbest.latencyMs.p99_9) },
    serverCpuUsPerRequest: { nextbest: of((r) => r.nextbest.serverCpuUsPerRequest), bare: of((r) => r.bare.serverCpuUsPerRequest) },
  };
  printSummary(summary, rounds);
  const fullLoad = serverSide(afterRounds, before);
  printServerSide('under full load', fullLoad);

  const rate = Math.round(summary.decisionsPerSec * FIXED_RATE_SHARE);
  let fixed = { failed: 0, statusCodes: {}, errors: 0, skipped: true };
  let atFixedRate = null;
  if (rate >= 1) {
    console.log(`\nfixed rate: ${rate} decisions/s (${pct(FIXED_RATE_SHARE)} of the measured max) for ${SECONDS} s, open loop, at most ${CONNECTIONS} sockets`);
    fixed = await fixedRate({ ...A, rate, seconds: SECONDS });
    atFixedRate = serverSide(await scrape(nextbest), afterRounds);
    printFixedRate(fixed, atFixedRate);
  }

  const failed = rounds.reduce((n, r) => n + r.failed, 0) + fixed.failed;
  printFailures(failed, rounds, fixed);

  const results = {
    startedAt: startedAt.toISOString(), commit: gitCommit(), node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg(),
    settings: { seconds: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, customers: CUSTOMERS, bodies: mix },
    summary, failed, rounds, fixedRate: fixed, serverDecisionSeconds: { fullLoad, atFixedRate },
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = `${startedAt.toISOString().replace(/:/g, '-')}.json`; // no ':' in file names, for Windows
  writeFileSync(new URL(`./results/${name}`, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: bench/results/${name}`);
  await stopAll();

  if (MIN_RATIO !== undefined && (summary.ratio < MIN_RATIO || failed)) {
    console.error(`BENCH_MIN_RATIO=${MIN_RATIO}: ${failed ? `${failed} requests failed` : `the ratio ${summary.ratio.toFixed(3)} is below it`}`);
    process.exit(1);
  }
}

if (!(SECONDS > 0) || !Number.isInteger(ROUNDS) || (MIN_RATIO !== undefined && !(MIN_RATIO > 0))) {
  die('BENCH_SECONDS and BENCH_MIN_RATIO must be positive numbers, BENCH_ROUNDS an integer');
} else {
  main().catch((err) => die(`benchmark failed: ${err.stack ?? err}`));
}
