// npm run bench — what a decision costs the server, priced in server CPU per request against a bare
// hono endpoint answering the same decision-sized body in the same run, with throughput and latency
// beside it. Servers, each a child process, loaded in turn round after round:
//   nextbest           the embedded default (memory store) — BENCH_STORE memory or both
//   nextbest (redis)   PROFILE_STORE=redis on the bench's own redis-server — BENCH_STORE redis or both
//   bare               the reference: hono answering a decision nextbest gave, customer ID swapped in
//   echo               hono answering 40 bytes, for comparison
// then a fixed-rate run per store at half its measured maximum (open loop), nextbest as BENCH_WORKERS
// node:cluster workers, and BENCH_REDIS_NODES processes sharing the one Redis.
// BENCH_SECONDS (10), BENCH_ROUNDS (3, at least 2), BENCH_OFFERS (60), BENCH_STORE (both), BENCH_WORKERS (2;
// 0 skips), BENCH_REDIS_NODES (2; 0 skips), BENCH_MAX_CPU_RATIO (unset: never fails; the memory store's ratio),
// BENCH_CPU_PROF=DIR, BENCH_PIN (1; 0 leaves the processes unpinned).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { makeBodies } from './bodies.js';
import { writeCatalogue } from './catalogue.js';
import { cpuSeconds } from './cpu.js';
import { fixedRate } from './fixed-rate.js';
import { counterTotal, diffHistogram, gauge, histogramTotals, parseHistogram, quantile, total } from './histogram.js';
import { load } from './load.js';
import { contactFields, importPopulation, keyBytes, redisCounters, redisPerDecision, startRedis } from './redis.js';
import {
  median,
  pct,
  printCluster,
  printFailures,
  printFixedRate,
  printHeader,
  printNodes,
  printRound,
  printSummary,
} from './report.js';
import { die, pin, pinned, RUNTIME_FLAGS, startBare, startNextbest, startNextbestCluster, stopAll } from './servers.js';

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS || 10);
const ROUNDS = Math.max(2, Number(env.BENCH_ROUNDS || 3));
const MAX_CPU_RATIO = env.BENCH_MAX_CPU_RATIO ? Number(env.BENCH_MAX_CPU_RATIO) : undefined;
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CONNECTIONS = 32;
const CUSTOMERS = 20_000;
const FIXED_RATE_SHARE = 0.5;
const OFFERS = Number(env.BENCH_OFFERS || 60);
const STORE = env.BENCH_STORE || 'both';
const WORKERS = Number(env.BENCH_WORKERS ?? 2);
const NODES = Number(env.BENCH_REDIS_NODES ?? 2);
const STORES = { memory: ['memory'], redis: ['redis'], both: ['memory', 'redis'] }[STORE];

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

/** One request of each kind before loading: a benchmark of 400s (or of fallback answers) would measure nothing. */
async function smokeTest(nextbest) {
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
    if (res.status !== 200 || !ok(res.body) || res.body.degraded)
      throw new Error(
        `smoke test of ${nextbest.name}: ${JSON.stringify(body)} got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
      );
  }
}

async function smokeTestBare(bare) {
  for (const path of ['/echo', '/echo-decision']) {
    const echo = await post(`${bare.url}${path}`, { customerId: 'C0000002', channel: 'call-center' });
    if (echo.status !== 200 || echo.body.customerId !== 'C0000002')
      throw new Error(`smoke test: the bare server answered ${echo.status} on ${path}`);
  }
}

/**
 * What /metrics says now: the decision-time histogram (both channels summed), GC totals, the
 * longest event-loop delay since the previous scrape (prom-client resets it on every read), and
 * the decisions and their store round trips.
 */
async function scrape(nextbest) {
  const text = await (await fetch(`${nextbest.url}/metrics`)).text();
  return {
    decisions: parseHistogram(text, 'nextbest_decision_duration_seconds'),
    gc: histogramTotals(text, 'nextbest_nodejs_gc_duration_seconds'),
    loopDelayMaxSeconds: gauge(text, 'nextbest_nodejs_eventloop_lag_max_seconds'),
    decided: counterTotal(text, 'nextbest_decisions_total'),
    degraded: counterTotal(text, 'nextbest_decisions_total', 'outcome="degraded"'),
    roundTrips: Object.fromEntries(
      ['read', 'reserve', 'reread'].map((step) => [
        step,
        counterTotal(text, 'nextbest_decision_store_round_trips_total', `step="${step}"`),
      ]),
    ),
  };
}
/** What the service itself measured between two scrapes. */
const serverSide = (after, before) => {
  const h = diffHistogram(after.decisions, before.decisions);
  const decided = after.decided - before.decided;
  return {
    decisions: total(h),
    p50: quantile(h, 0.5),
    p99: quantile(h, 0.99),
    gcCount: after.gc.count - before.gc.count,
    gcSeconds: after.gc.seconds - before.gc.seconds,
    loopDelayMaxSeconds: after.loopDelayMaxSeconds,
    degradedShare: decided > 0 ? (after.degraded - before.degraded) / decided : null,
    roundTripsPerDecision:
      after.roundTrips.read === null || !(decided > 0)
        ? null
        : Object.fromEntries(
            Object.entries(after.roundTrips).map(([step, n]) => [step, (n - before.roundTrips[step]) / decided]),
          ),
  };
};

/** The commit measured, `+changes` when the working tree differs from it. */
function gitCommit() {
  try {
    const git = (...args) =>
      execFileSync('git', args, { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain') ? '+changes' : ''}`;
  } catch {
    return null; // no commit yet, or no git
  }
}

/** Commands per decision by command over every round, each round weighed by its decisions. */
function callsPerDecision(runs) {
  const decisions = runs.reduce((n, r) => n + r.ok, 0);
  const calls = {};
  for (const r of runs)
    for (const [name, perDecision] of Object.entries(r.redis.calls))
      calls[name] = (calls[name] ?? 0) + (perDecision * r.ok) / decisions;
  return calls;
}

/** One closed-loop run of a target; for a Redis-backed one, with what it cost Redis. */
async function measure(target, seconds, redis) {
  if (!target.redis) return load({ ...target, seconds });
  const before = await redisCounters(redis);
  const r = await load({ ...target, seconds });
  return { ...r, redis: redisPerDecision(await redisCounters(redis), before, r.ok) };
}

/**
 * A run against `target`, with the CPU the other processes of the bench (the idle servers,
 * redis-server) spent meanwhile, as a share of one core: `othersCpuShare` on the run. A latency
 * figure taken while they were busy says so.
 */
async function besideOthers(target, targets, redis, run) {
  const others = [...new Set(targets.filter((t) => t.pid !== target.pid).flatMap((t) => t.pid))];
  // redis-server is part of what a Redis-store run measures
  if (redis && !target.redis) others.push(redis.pid);
  const before = cpuSeconds(others);
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  return { ...result, othersCpuShare: before === null ? null : (cpuSeconds(others) - before) / seconds };
}

/** Several nodes on the one Redis, loaded at once (the connections shared out), as two nodes of a deployment are. */
async function severalNodes(redis, rulesDir, bodies) {
  const nodes = [];
  for (let i = 0; i < NODES; i++)
    nodes.push(await startNextbest(CUSTOMERS, rulesDir, { redisUrl: redis.url, pinnable: false }));
  const targets = nodes.map((n) => ({
    url: n.url,
    path: '/v1/decisions',
    connections: Math.floor(CONNECTIONS / NODES),
    bodies,
    pid: n.pids,
  }));
  await Promise.all(targets.map((t) => load({ ...t, seconds: WARMUP_SECONDS })));
  const runs = [];
  for (let i = 0; i < Math.min(ROUNDS, 2); i++) {
    const before = await redisCounters(redis);
    const each = await Promise.all(targets.map((t) => load({ ...t, seconds: SECONDS })));
    const decisions = each.reduce((n, r) => n + r.ok, 0);
    runs.push({
      decisionsPerSec: each.reduce((n, r) => n + r.reqPerSec, 0),
      serverCpuUsPerRequest: each.reduce((n, r) => n + r.serverCpuUsPerRequest * r.ok, 0) / decisions,
      p99: Math.max(...each.map((r) => r.latencyMs.p99)),
      failed: each.reduce((n, r) => n + r.failed, 0),
      redis: redisPerDecision(await redisCounters(redis), before, decisions),
    });
  }
  return {
    nodes: NODES,
    decisionsPerSec: median(runs.map((r) => r.decisionsPerSec)),
    serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
    p99: median(runs.map((r) => r.p99)),
    redisCpuUsPerDecision: median(runs.map((r) => r.redis.cpuUsPerDecision)),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    runs,
  };
}

async function main() {
  const startedAt = new Date();
  const { bodies, mix, size } = makeBodies(CUSTOMERS);
  console.log(
    `nextbest bench — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, load average ${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(
    pinned
      ? `pinned with taskset: the servers on core ${pinned.server}, the load generator${STORES.includes('redis') ? ' and redis-server' : ''} on core ${pinned.generator}`
      : 'not pinned (BENCH_PIN=0, no taskset, or one core): the load generator shares the cores with the servers',
  );
  console.log(
    `${ROUNDS} rounds × ${SECONDS} s per server, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up each; stores: ${STORES.join(', ')}`,
  );
  console.log(
    `every server runs with npm start's node flags: ${RUNTIME_FLAGS.join(' ') || 'none'}; the fixed-rate generator in a process of its own`,
  );
  console.log(`catalogue: the shipped rules plus generated variants, ${OFFERS} offers (bench/catalogue.js)`);
  console.log(
    `bodies: ${size} over ${CUSTOMERS} customers — ${pct(mix.unknown / size)} unknown IDs, ${pct(mix.web / size)} web, ` +
      `${pct(mix.callCenter / size)} call-center (${pct(mix.cancel / size)} of all with intent "cancel")\n`,
  );

  const rulesDir = mkdtempSync(join(os.tmpdir(), 'nextbest-bench-rules-'));
  process.on('exit', () => rmSync(rulesDir, { recursive: true, force: true }));
  writeCatalogue(rulesDir, OFFERS);
  let redis;
  if (STORES.includes('redis')) {
    // beside the load generator, off the core whose CPU is being priced
    redis = await startRedis((pid) => pin(pid, 'generator'));
    importPopulation(redis, CUSTOMERS);
  }
  const nextbest = {};
  for (const store of STORES)
    nextbest[store] = await startNextbest(CUSTOMERS, rulesDir, store === 'redis' ? { redisUrl: redis.url } : {});
  const answers = await sampleAnswers(nextbest[STORES[0]]);
  const bare = await startBare(answers);
  for (const store of STORES) await smokeTest(nextbest[store]);
  await smokeTestBare(bare);
  const decisionBytes = Math.round(
    (JSON.stringify(answers.web).length + JSON.stringify(answers['call-center']).length) / 2,
  );
  console.log(
    `bare endpoint: answers a ${decisionBytes}-byte decision (the reference of the ratio); echo: a 40-byte answer\n`,
  );
  const decisions = { path: '/v1/decisions', connections: CONNECTIONS, bodies };
  const targets = [
    ...STORES.map((store) => ({
      ...decisions,
      name: store,
      url: nextbest[store].url,
      pid: nextbest[store].pids,
      redis: store === 'redis',
    })),
    { name: 'bare', url: bare.url, path: '/echo-decision', connections: CONNECTIONS, bodies, pid: bare.pids },
    { name: 'echo', url: bare.url, path: '/echo', connections: CONNECTIONS, bodies, pid: bare.pids },
  ];
  for (const target of targets) await load({ ...target, seconds: WARMUP_SECONDS });

  const before = {};
  for (const store of STORES) before[store] = await scrape(nextbest[store]);
  printHeader();
  const rounds = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const round = { round: i, runs: {} };
    for (const target of targets) round.runs[target.name] = await measure(target, SECONDS, redis);
    for (const store of STORES) {
      const run = round.runs[store];
      run.cpuRatio = run.serverCpuUsPerRequest / round.runs.bare.serverCpuUsPerRequest;
      run.ratio = run.reqPerSec / round.runs.bare.reqPerSec;
    }
    rounds.push(round);
    printRound(round, targets);
  }
  const afterRounds = {};
  for (const store of STORES) afterRounds[store] = await scrape(nextbest[store]);
  const of = (name, pick) => median(rounds.map((r) => pick(r.runs[name])));
  const summary = { offers: OFFERS, stores: {} };
  for (const target of targets) {
    const name = target.name;
    summary[name === 'bare' || name === 'echo' ? name : 'stores'] ??= {};
    const s = {
      reqPerSec: of(name, (r) => r.reqPerSec),
      latencyMs: { p50: of(name, (r) => r.latencyMs.p50), p99: of(name, (r) => r.latencyMs.p99) },
      serverCpuUsPerRequest: of(name, (r) => r.serverCpuUsPerRequest),
    };
    if (STORES.includes(name)) {
      const ratios = rounds.map((r) => r.runs[name].cpuRatio);
      Object.assign(s, {
        latencyMs: { ...s.latencyMs, p99_9: of(name, (r) => r.latencyMs.p99_9) },
        cpuRatio: median(ratios),
        cpuRatioRange: [Math.min(...ratios), Math.max(...ratios)],
        ratio: of(name, (r) => r.ratio),
        serverSide: serverSide(afterRounds[name], before[name]),
      });
      if (target.redis)
        s.redis = {
          cpuUsPerDecision: of(name, (r) => r.redis.cpuUsPerDecision),
          commandsPerDecision: of(name, (r) => r.redis.commandsPerDecision),
          calls: callsPerDecision(rounds.map((r) => r.runs[name])),
          contactFields: await contactFields(redis),
          bytes: await keyBytes(redis),
        };
      summary.stores[name] = s;
    } else summary[name] = s;
  }
  printSummary(summary, rounds);

  // open loop at half of each store's maximum, the stores in turn, round after round
  const fixed = {};
  for (const store of STORES) {
    const rate = Math.round(summary.stores[store].reqPerSec * FIXED_RATE_SHARE);
    fixed[store] = { rate, runs: [], bareRuns: [], before: await scrape(nextbest[store]) };
  }
  console.log(
    `\nfixed rate, ${pct(FIXED_RATE_SHARE)} of each store's measured maximum, ${ROUNDS} rounds × ${SECONDS} s, open loop, at most ${CONNECTIONS} sockets:`,
  );
  // each store's run is followed by the bare endpoint's at the same rate: what the machine and the
  // generator alone do to the latency (its floor), measured alongside
  const bareTarget = targets.find((t) => t.name === 'bare');
  for (let i = 0; i < ROUNDS; i++)
    for (const store of STORES) {
      const target = targets.find((t) => t.name === store);
      const f = fixed[store];
      f.runs.push(
        await besideOthers(target, targets, redis, () => fixedRate({ ...target, rate: f.rate, seconds: SECONDS })),
      );
      f.bareRuns.push(
        await besideOthers(bareTarget, targets, redis, () =>
          fixedRate({ ...bareTarget, rate: f.rate, seconds: SECONDS }),
        ),
      );
    }
  for (const store of STORES) {
    const f = fixed[store];
    f.serverSide = serverSide(await scrape(nextbest[store]), f.before);
    delete f.before;
    f.p50 = median(f.runs.map((r) => r.latencyMs.p50));
    f.p99 = median(f.runs.map((r) => r.latencyMs.p99));
    f.bare = {
      p50: median(f.bareRuns.map((r) => r.latencyMs.p50)),
      p99: median(f.bareRuns.map((r) => r.latencyMs.p99)),
    };
    f.failed = [...f.runs, ...f.bareRuns].reduce((n, r) => n + r.failed, 0);
    printFixedRate(store, f);
  }

  // every core: the memory store's service as node:cluster workers, against the one process above
  let cluster = null;
  if (WORKERS > 1 && STORES.includes('memory')) {
    await stopAll();
    const many = await startNextbestCluster(CUSTOMERS, rulesDir, WORKERS);
    const M = { ...decisions, url: many.url, pid: many.pids };
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
    printCluster(cluster, summary.stores.memory);
  }
  let nodes = null;
  if (NODES > 1 && redis) {
    await stopAll();
    nodes = await severalNodes(redis, rulesDir, bodies);
    printNodes(nodes, summary.stores.redis);
  }

  const failed =
    rounds.reduce((n, r) => n + Object.values(r.runs).reduce((m, run) => m + run.failed, 0), 0) +
    Object.values(fixed).reduce((n, f) => n + f.failed, 0) +
    (cluster?.failed ?? 0) +
    (nodes?.failed ?? 0);
  printFailures(failed, rounds, fixed);

  const results = {
    startedAt: startedAt.toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim(),
    loadAverage: os.loadavg(),
    pinned,
    runtimeFlags: RUNTIME_FLAGS,
    settings: {
      seconds: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: WARMUP_SECONDS,
      connections: CONNECTIONS,
      customers: CUSTOMERS,
      offers: OFFERS,
      stores: STORES,
      decisionBytes,
      bodies: mix,
    },
    summary,
    failed,
    rounds,
    fixedRate: fixed,
    cluster,
    nodes,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = `${startedAt.toISOString().replace(/:/g, '-')}.json`; // no ':' in file names, for Windows
  writeFileSync(new URL(`./results/${name}`, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: bench/results/${name}`);
  await stopAll();
  redis?.stop();

  // the limit holds the embedded default's decision to its price; a Redis run counts through its failures
  if (MAX_CPU_RATIO !== undefined) {
    const ratio = summary.stores.memory?.cpuRatio;
    const said = STORES.map((s) => `${s} ${summary.stores[s].cpuRatio?.toFixed(2)}×`).join(', ');
    if (failed || !(ratio <= MAX_CPU_RATIO)) {
      console.error(
        `BENCH_MAX_CPU_RATIO=${MAX_CPU_RATIO}: ${failed ? `${failed} requests failed` : `the memory store's CPU per decision ÷ CPU per bare answer is over it, or unknown (${said})`}`,
      );
      process.exit(1);
    }
    console.log(`BENCH_MAX_CPU_RATIO=${MAX_CPU_RATIO}: CPU per decision ÷ CPU per bare answer holds (${said})`);
  }
}

if (
  !(SECONDS > 0) ||
  !Number.isInteger(ROUNDS) ||
  (MAX_CPU_RATIO !== undefined && !(MAX_CPU_RATIO > 0)) ||
  !(OFFERS >= 37) ||
  !Number.isInteger(WORKERS) ||
  !Number.isInteger(NODES) ||
  NODES > CONNECTIONS ||
  !STORES ||
  (MAX_CPU_RATIO !== undefined && !STORES.includes('memory'))
) {
  die(
    'BENCH_SECONDS and BENCH_MAX_CPU_RATIO must be positive numbers, BENCH_ROUNDS, BENCH_WORKERS and BENCH_REDIS_NODES integers (BENCH_REDIS_NODES at most 32), BENCH_OFFERS at least 37 (the shipped catalogue), BENCH_STORE memory, redis or both (memory or both with BENCH_MAX_CPU_RATIO)',
  );
} else {
  main().catch((err) => die(`benchmark failed: ${err.stack ?? err}`));
}
