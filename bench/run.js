// npm run bench — nextbest decisions vs a bare hono endpoint, alternating A B A B, then a fixed-rate run.
// BENCH_SECONDS (10), BENCH_ROUNDS (3, at least 2), BENCH_MIN_RATIO (unset: never fails), BENCH_CPU_PROF=DIR.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { makeBodies } from './bodies.js';
import { fixedRate } from './fixed-rate.js';
import { diffHistogram, parseHistogram, quantile, total } from './histogram.js';
import { failures, load } from './load.js';
import { die, startBare, startNextbest, stopAll } from './servers.js';

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS || 10);
const ROUNDS = Math.max(2, Number(env.BENCH_ROUNDS || 3));
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CONNECTIONS = 32;
const CUSTOMERS = 20_000;
const FIXED_RATE_SHARE = 0.5;
const HISTOGRAM = 'nextbest_decision_duration_seconds';
if (!(SECONDS > 0) || !Number.isInteger(ROUNDS)) die('BENCH_SECONDS must be a positive number and BENCH_ROUNDS an integer');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => n.toFixed(2).padStart(7);
const us = (q) => (q ? `${q.beyondLastBucket ? '>' : '~'}${Math.round(q.seconds * 1e6)} µs` : 'n/a');
const pad = (s, n) => String(s).padStart(n);
const cpu = (run) => (run.serverCpuUsPerRequest == null ? 'n/a' : Math.round(run.serverCpuUsPerRequest));

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** One request of each kind before loading: a benchmark of 400s would measure nothing. */
async function smokeTest(nextbest, bare) {
  const checks = [
    [{ customerId: 'C0000001', channel: 'web' }, (b) => b.profile?.found === true && Array.isArray(b.offers)],
    [{ customerId: 'C0000002', channel: 'call-center', context: { intent: 'cancel' } }, (b) => b.profile?.found === true],
    [{ customerId: `C${CUSTOMERS + 1}`.padEnd(8, '0'), channel: 'web' }, (b) => b.profile?.found === false],
  ];
  for (const [body, ok] of checks) {
    const res = await post(`${nextbest.url}/v1/decisions`, body);
    if (res.status !== 200 || !ok(res.body)) die(`smoke test failed for ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  const echo = await post(`${bare.url}/echo`, checks[0][0]);
  if (echo.status !== 200 || echo.body.customerId !== 'C0000001') die(`bare server answered ${echo.status}`);
}

async function decisionHistogram(nextbest) {
  const res = await fetch(`${nextbest.url}/metrics`);
  return parseHistogram(await res.text(), HISTOGRAM);
}

function serverSide(histogram) {
  return { decisions: total(histogram), p50: quantile(histogram, 0.5), p99: quantile(histogram, 0.99) };
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

async function main() {
  const startedAt = new Date();
  const { bodies, mix, size } = makeBodies(CUSTOMERS);
  console.log(`nextbest bench — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}`);
  console.log(`${ROUNDS} rounds × ${SECONDS} s per server, ${CONNECTIONS} connections, warm-up ${WARMUP_SECONDS} s each; ` +
    `load average before: ${os.loadavg()[0].toFixed(2)}`);
  console.log(`bodies: pool of ${size} over ${int(CUSTOMERS)} customers — ${pct(mix.unknown / size)} unknown IDs, ` +
    `${pct(mix.web / size)} web, ${pct(mix.callCenter / size)} call-center (${pct(mix.cancel / size)} with intent "cancel")\n`);

  const [nextbest, bare] = await Promise.all([startNextbest(CUSTOMERS), startBare()]);
  await smokeTest(nextbest, bare);
  const A = { url: nextbest.url, path: '/v1/decisions', connections: CONNECTIONS, bodies, pid: nextbest.child.pid };
  const B = { url: bare.url, path: '/echo', connections: CONNECTIONS, bodies, pid: bare.child.pid };
  await load({ ...A, seconds: WARMUP_SECONDS });
  await load({ ...B, seconds: WARMUP_SECONDS });

  const before = await decisionHistogram(nextbest);
  console.log('                  req/s              ratio   server CPU µs/req   decision latency ms   non-2xx/errors');
  console.log('round   decisions      bare               nextbest   bare      p50     p99   p99.9');
  const rounds = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const a = await load({ ...A, seconds: SECONDS });
    const b = await load({ ...B, seconds: SECONDS });
    const round = { round: i, nextbest: a, bare: b, ratio: a.reqPerSec / b.reqPerSec };
    rounds.push(round);
    const bad = failures(a) + failures(b);
    console.log(`${pad(i, 5)} ${pad(int(a.reqPerSec), 11)} ${pad(int(b.reqPerSec), 9)} ${round.ratio.toFixed(3).padStart(10)}` +
      ` ${pad(cpu(a), 10)} ${pad(cpu(b), 6)}  ${ms(a.latencyMs.p50)} ${ms(a.latencyMs.p99)} ${ms(a.latencyMs.p99_9)}   ` +
      (bad ? `!! ${failures(a)} / ${failures(b)} (bare)` : '0'));
  }
  const afterRounds = await decisionHistogram(nextbest);

  const summary = {
    ratio: median(rounds.map((r) => r.ratio)),
    ratioRange: [Math.min(...rounds.map((r) => r.ratio)), Math.max(...rounds.map((r) => r.ratio))],
    decisionsPerSec: median(rounds.map((r) => r.nextbest.reqPerSec)),
    bareReqPerSec: median(rounds.map((r) => r.bare.reqPerSec)),
    serverCpuUsPerRequest: { nextbest: median(rounds.map((r) => r.nextbest.serverCpuUsPerRequest)), bare: median(rounds.map((r) => r.bare.serverCpuUsPerRequest)) },
    decisionLatencyMs: {
      p50: median(rounds.map((r) => r.nextbest.latencyMs.p50)),
      p99: median(rounds.map((r) => r.nextbest.latencyMs.p99)),
      p99_9: median(rounds.map((r) => r.nextbest.latencyMs.p99_9)),
    },
  };
  const { nextbest: cpuA, bare: cpuB } = summary.serverCpuUsPerRequest;
  console.log(`median ${pad(int(summary.decisionsPerSec), 10)} ${pad(int(summary.bareReqPerSec), 9)} ${summary.ratio.toFixed(3).padStart(10)}` +
    ` ${pad(cpu({ serverCpuUsPerRequest: cpuA }), 10)} ${pad(cpu({ serverCpuUsPerRequest: cpuB }), 6)}` +
    `  ${ms(summary.decisionLatencyMs.p50)} ${ms(summary.decisionLatencyMs.p99)} ${ms(summary.decisionLatencyMs.p99_9)}`);
  console.log(`ratio = decisions/s ÷ bare req/s of the same round, median over rounds (range ${summary.ratioRange.map((r) => r.toFixed(3)).join('–')});` +
    `${cpuA ? ` by server CPU per request: ${(cpuB / cpuA).toFixed(3)}` : ''}`);
  console.log('latency: autocannon send → full response, 32 connections in closed loop (so ≈ connections ÷ throughput)');
  if (summary.ratioRange[1] > 1.2 * summary.ratioRange[0]) console.log('note: the ratio varied over 20 % between rounds: something else is using this machine\'s CPU');
  if (median(rounds.map((r) => r.bare.clientCpuShare)) > 0.9) {
    console.log('note: the load generator used ~a full core during the bare runs: bare req/s is a floor and the ratio flatters nextbest');
  }

  const loaded = serverSide(diffHistogram(afterRounds, before));
  console.log(`\nserver-side decision time under full load (${HISTOGRAM}, ${int(loaded.decisions)} decisions): ` +
    `p50 ${us(loaded.p50)}, p99 ${us(loaded.p99)}  — bucket-interpolated; excludes HTTP, body parsing and validation`);

  const rate = Math.round(summary.decisionsPerSec * FIXED_RATE_SHARE);
  console.log(`\nfixed rate: ${int(rate)} decisions/s (${FIXED_RATE_SHARE * 100} % of the measured max) for ${SECONDS} s, open loop, up to ${CONNECTIONS} sockets`);
  const fixed = await fixedRate({ ...A, rate, seconds: SECONDS });
  const afterFixed = await decisionHistogram(nextbest);
  const fixedServer = serverSide(diffHistogram(afterFixed, afterRounds));
  const fixedFailures = fixed.errors + Object.entries(fixed.statusCodes).reduce((n, [code, c]) => n + (code >= 200 && code < 300 ? 0 : c), 0);
  console.log(`  achieved ${int(fixed.sent / fixed.seconds)} req/s; latency from intended send time (corrected for coordinated omission): ` +
    `p50 ${fixed.latencyMs.p50.toFixed(2)} ms, p99 ${fixed.latencyMs.p99.toFixed(2)} ms, p99.9 ${fixed.latencyMs.p99_9.toFixed(2)} ms`);
  console.log(`  from actual send (uncorrected): p50 ${fixed.uncorrectedLatencyMs.p50.toFixed(2)} ms, p99 ${fixed.uncorrectedLatencyMs.p99.toFixed(2)} ms; ` +
    `server-side p50 ${us(fixedServer.p50)}, p99 ${us(fixedServer.p99)}; generator lag max ${fixed.maxLagMs.toFixed(1)} ms; ` +
    `non-2xx/errors ${fixedFailures ? `!! ${fixedFailures} ${JSON.stringify(fixed.statusCodes)}` : 0}`);
  console.log('  (not autocannon\'s overallRate: it sends each second\'s quota in a burst and its own correction assumes a 1 ms interval)');

  const failed = rounds.reduce((n, r) => n + failures(r.nextbest) + failures(r.bare), 0) + fixedFailures;
  if (failed) {
    console.error(`\n!!!!!!!! ${failed} requests failed (non-2xx, errors or timeouts): these numbers do not measure decisions !!!!!!!!`);
    for (const r of rounds) console.error(`  round ${r.round}: nextbest ${JSON.stringify(r.nextbest.statusCodes)} errors ${r.nextbest.errors}, bare ${JSON.stringify(r.bare.statusCodes)} errors ${r.bare.errors}`);
  }

  const results = {
    startedAt: startedAt.toISOString(), commit: gitCommit(), node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg()[0],
    settings: { seconds: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, customers: CUSTOMERS, bodies: mix },
    rounds, summary, failed,
    serverDecisionSeconds: { fullLoad: loaded, fixedRate: fixedServer },
    fixedRate: fixed,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/${startedAt.toISOString().replace(/:/g, '-')}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: bench/results/${file.pathname.split('/').pop()}`);
  await stopAll();

  const minRatio = env.BENCH_MIN_RATIO ? Number(env.BENCH_MIN_RATIO) : undefined;
  if (minRatio !== undefined && (summary.ratio < minRatio || failed)) {
    console.error(`BENCH_MIN_RATIO: ratio ${summary.ratio.toFixed(3)} is below ${minRatio}${failed ? ' or requests failed' : ''}`);
    process.exit(1);
  }
}

const pct = (x) => `${(x * 100).toFixed(1)} %`;

main().catch((err) => die(`benchmark failed: ${err.stack ?? err}`));
