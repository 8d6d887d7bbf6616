// npm run bench — nextbest decisions vs a bare hono endpoint, alternating A B C A B C, then a fixed-rate
// run and nextbest as two node:cluster workers. A: nextbest on a generated catalogue (BENCH_OFFERS, 60);
// B: the bare endpoint answering a decision-sized body (the ratio's reference); C: a bare 40-byte echo.
// BENCH_SECONDS (10), BENCH_ROUNDS (3, at least 2), BENCH_MIN_RATIO (unset: never fails), BENCH_CPU_PROF=DIR,
// BENCH_WORKERS (2; 0 skips the cluster run).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { makeBodies } from './bodies.js';
import { writeCatalogue } from './catalogue.js';
import { fixedRate } from './fixed-rate.js';
import { diffHistogram, gauge, histogramTotals, parseHistogram, quantile, total } from './histogram.js';
import { load } from './load.js';
import {
  median,
  pct,
  printCluster,
  printFailures,
  printFixedRate,
  printHeader,
  printRound,
  printServerSide,
  printSummary,
} from './report.js';
import { die, startBare, startNextbest, startNextbestCluster, stopAll } from './servers.js';

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS || 10);
const ROUNDS = Math.max(2, Number(env.BENCH_ROUNDS || 3));
const MIN_RATIO = env.BENCH_MIN_RATIO ? Number(env.BENCH_MIN_RATIO) : undefined;
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CONNECTIONS = 32;
const CUSTOMERS = 20_000;
const FIXED_RATE_SHARE = 0.5;
const OFFERS = Number(env.BENCH_OFFERS || 60);
const WORKERS = Number(env.BENCH_WORKERS ?? 2);

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A decision per channel, for the bare endpoint to answer with: the same payload as nextbest's. */
async function sampleAnswers(nextbest) {
  const answers = {};
  for (const channel of ['web', 'call-center'])
    answers[channel] = (await post(`${nextbest.url}/v1/decisions`, { customerId: 'C0000001', channel })).body;
  return answers;
}

/** One request of each kind before loading: a benchmark of 400s would measure nothing. */
async function smokeTest(nextbest, bare) {
  const checks = [
    [{ customerId: 'C0000001', channel: 'web' }, (b) => b.profile?.found === true && Array.isArray(b.offers)],
    [
      { customerId: 'C0000002', channel: 'call-center', context: { intent: 'cancel' } },
      (b) => b.profile?.found === true,
    ],
    [{ customerId: `C${String(CUSTOMERS + 1).padStart(7, '0')}`, channel: 'web' }, (b) => b.profile?.found === false],
  ];
  for (const [body, ok] of checks) {
    const res = await post(`${nextbest.url}/v1/decisions`, body);
    if (res.status !== 200 || !ok(res.body))
      throw new Error(
        `smoke test: ${JSON.stringify(body)} got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
      );
  }
  for (const path of ['/echo', '/echo-decision']) {
    const echo = await post(`${bare.url}${path}`, checks[1][0]);
    if (echo.status !== 200 || echo.body.customerId !== 'C0000002')
      throw new Error(`smoke test: the bare server answered ${echo.status} on ${path}`);
  }
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
    decisions: total(h),
    p50: quantile(h, 0.5),
    p99: quantile(h, 0.99),
    gcCount: after.gc.count - before.gc.count,
    gcSeconds: after.gc.seconds - before.gc.seconds,
    loopDelayMaxSeconds: after.loopDelayMaxSeconds,
  };
};

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null; // no commit yet, or no git
  }
}

async function main() {
  const startedAt = new Date();
  const { bodies, mix, size } = makeBodies(CUSTOMERS);
  console.log(
    `nextbest bench — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, load average ${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `${ROUNDS} rounds × ${SECONDS} s per server, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up each; load generator on the same machine`,
  );
  console.log(`catalogue: the shipped rules plus generated variants, ${OFFERS} offers (bench/catalogue.js)`);
  console.log(
    `bodies: ${size} over ${CUSTOMERS} customers — ${pct(mix.unknown / size)} unknown IDs, ${pct(mix.web / size)} web, ` +
      `${pct(mix.callCenter / size)} call-center (${pct(mix.cancel / size)} of all with intent "cancel")\n`,
  );

  const rulesDir = mkdtempSync(join(os.tmpdir(), 'nextbest-bench-rules-'));
  process.on('exit', () => rmSync(rulesDir, { recursive: true, force: true }));
  writeCatalogue(rulesDir, OFFERS);
  const nextbest = await startNextbest(CUSTOMERS, rulesDir);
  const answers = await sampleAnswers(nextbest);
  const bare = await startBare(answers);
  await smokeTest(nextbest, bare);
  const decisionBytes = Math.round(
    (JSON.stringify(answers.web).length + JSON.stringify(answers['call-center']).length) / 2,
  );
  console.log(
    `bare endpoint: answers a ${decisionBytes}-byte decision (the reference of the ratio); echo: a 40-byte answer\n`,
  );
  const A = { url: nextbest.url, path: '/v1/decisions', connections: CONNECTIONS, bodies, pid: nextbest.pids };
  const B = { url: bare.url, path: '/echo-decision', connections: CONNECTIONS, bodies, pid: bare.pids };
  const C = { ...B, path: '/echo' };
  for (const target of [A, B, C]) await load({ ...target, seconds: WARMUP_SECONDS });

  const before = await scrape(nextbest);
  printHeader();
  const rounds = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const a = await load({ ...A, seconds: SECONDS });
    const b = await load({ ...B, seconds: SECONDS });
    const c = await load({ ...C, seconds: SECONDS });
    rounds.push({
      round: i,
      nextbest: a,
      bare: b,
      echo: c,
      ratio: a.reqPerSec / b.reqPerSec,
      echoRatio: a.reqPerSec / c.reqPerSec,
      failed: a.failed + b.failed + c.failed,
    });
    printRound(rounds.at(-1));
  }
  const afterRounds = await scrape(nextbest);
  const of = (pick) => median(rounds.map(pick));
  const summary = {
    offers: OFFERS,
    ratio: of((r) => r.ratio),
    ratioRange: [Math.min(...rounds.map((r) => r.ratio)), Math.max(...rounds.map((r) => r.ratio))],
    echoRatio: of((r) => r.echoRatio),
    decisionsPerSec: of((r) => r.nextbest.reqPerSec),
    bareReqPerSec: of((r) => r.bare.reqPerSec),
    echoReqPerSec: of((r) => r.echo.reqPerSec),
    decisionLatencyMs: {
      p50: of((r) => r.nextbest.latencyMs.p50),
      p99: of((r) => r.nextbest.latencyMs.p99),
      p99_9: of((r) => r.nextbest.latencyMs.p99_9),
    },
    serverCpuUsPerRequest: {
      nextbest: of((r) => r.nextbest.serverCpuUsPerRequest),
      bare: of((r) => r.bare.serverCpuUsPerRequest),
      echo: of((r) => r.echo.serverCpuUsPerRequest),
    },
  };
  printSummary(summary, rounds);
  const fullLoad = serverSide(afterRounds, before);
  printServerSide('under full load', fullLoad);

  const rate = Math.round(summary.decisionsPerSec * FIXED_RATE_SHARE);
  let fixed = { failed: 0, statusCodes: {}, errors: 0, skipped: true };
  let atFixedRate = null;
  if (rate >= 1) {
    console.log(
      `\nfixed rate: ${rate} decisions/s (${pct(FIXED_RATE_SHARE)} of the measured max) for ${SECONDS} s, open loop, at most ${CONNECTIONS} sockets`,
    );
    fixed = await fixedRate({ ...A, rate, seconds: SECONDS });
    atFixedRate = serverSide(await scrape(nextbest), afterRounds);
    printFixedRate(fixed, atFixedRate);
  }

  // every core: the same service as node:cluster workers, against the one-process figure above
  let cluster = null;
  if (WORKERS > 1) {
    await stopAll();
    const many = await startNextbestCluster(CUSTOMERS, rulesDir, WORKERS);
    const M = { ...A, url: many.url, pid: many.pids };
    await load({ ...M, seconds: WARMUP_SECONDS });
    const runs = [];
    for (let i = 0; i < Math.min(ROUNDS, 2); i++) runs.push(await load({ ...M, seconds: SECONDS }));
    cluster = {
      workers: WORKERS,
      decisionsPerSec: median(runs.map((r) => r.reqPerSec)),
      latencyMs: { p50: median(runs.map((r) => r.latencyMs.p50)), p99: median(runs.map((r) => r.latencyMs.p99)) },
      serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
      failed: runs.reduce((n, r) => n + r.failed, 0),
      runs,
    };
    printCluster(cluster, summary);
  }

  const failed = rounds.reduce((n, r) => n + r.failed, 0) + fixed.failed + (cluster?.failed ?? 0);
  printFailures(failed, rounds, fixed);

  const results = {
    startedAt: startedAt.toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim(),
    loadAverage: os.loadavg(),
    settings: {
      seconds: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: WARMUP_SECONDS,
      connections: CONNECTIONS,
      customers: CUSTOMERS,
      offers: OFFERS,
      decisionBytes,
      bodies: mix,
    },
    summary,
    failed,
    rounds,
    fixedRate: fixed,
    serverDecisionSeconds: { fullLoad, atFixedRate },
    cluster,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = `${startedAt.toISOString().replace(/:/g, '-')}.json`; // no ':' in file names, for Windows
  writeFileSync(new URL(`./results/${name}`, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: bench/results/${name}`);
  await stopAll();

  if (MIN_RATIO !== undefined && (summary.ratio < MIN_RATIO || failed)) {
    console.error(
      `BENCH_MIN_RATIO=${MIN_RATIO}: ${failed ? `${failed} requests failed` : `the ratio ${summary.ratio.toFixed(3)} is below it`}`,
    );
    process.exit(1);
  }
  if (MIN_RATIO !== undefined) console.log(`BENCH_MIN_RATIO=${MIN_RATIO}: the ratio ${summary.ratio.toFixed(3)} holds`);
}

if (
  !(SECONDS > 0) ||
  !Number.isInteger(ROUNDS) ||
  (MIN_RATIO !== undefined && !(MIN_RATIO > 0)) ||
  !(OFFERS >= 37) ||
  !Number.isInteger(WORKERS)
) {
  die(
    'BENCH_SECONDS and BENCH_MIN_RATIO must be positive numbers, BENCH_ROUNDS and BENCH_WORKERS integers, BENCH_OFFERS at least 37 (the shipped catalogue)',
  );
} else {
  main().catch((err) => die(`benchmark failed: ${err.stack ?? err}`));
}
