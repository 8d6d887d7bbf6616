// npm run bench:micro — the decision's parts, in process, over the shipped rules and larger generated
// catalogues: eligibility compiled vs json-rules-engine, arbitration, the whole synchronous decide(),
// the profile look-up, and the whole decision of the service (policy, reservation, log, tallies) with the
// bytes it allocates. BENCH_MICRO_MS (300) per task; BENCH_MICRO_OFFERS (60,200) extra sizes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { Engine } from 'json-rules-engine';
import { pino } from 'pino';
import { Bench } from 'tinybench';
import { buildServices } from '../dist/boot.js';
import { loadConfig } from '../dist/config.js';
import { EMPTY_CONTACTS } from '../dist/contacts/state.js';
import { arbitrate, matchWeights } from '../dist/decision/arbitrate.js';
import { decide } from '../dist/decision/decide.js';
import { buildFacts } from '../dist/decision/facts.js';
import { LearnedPropensity, LearningState } from '../dist/learning/index.js';
import { seededRng } from '../dist/math/random.js';
import { generateProfiles } from '../dist/offline/demo/index.js';
import { CachedProfileStore, MemoryProfileStore } from '../dist/profiles/index.js';
import { compileRuleSet, loadRuleSet } from '../dist/rules/index.js';
import { SHIPPED_RULES, writeCatalogue } from './catalogue.js';

const TASK_MS = Number(process.env.BENCH_MICRO_MS || 300);
const SIZES = (process.env.BENCH_MICRO_OFFERS || '60,200')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const PROFILES = 4_096;

async function ruleset(dir) {
  const loaded = await loadRuleSet(dir);
  if (!loaded.ok) throw new Error(`${dir}: ${loaded.errors.map((e) => e.message).join('; ')}`);
  return compileRuleSet(loaded.source);
}

/** One json-rules-engine per channel with every offer of the channel as a rule: how one would run it on the hot path. */
function referenceEngines(rs) {
  const engines = new Map();
  for (const [channel, offers] of rs.byChannel) {
    const engine = new Engine([], { allowUndefinedFacts: true });
    for (const o of offers)
      engine.addRule({ conditions: structuredClone(o.source.eligibility), event: { type: o.id } });
    engines.set(channel, engine);
  }
  return engines;
}
const plainFacts = (facts) => Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined));

/** Requests over the population, both channels, a share of cancel calls. */
function requests(profiles) {
  const rng = seededRng(11);
  return profiles.map((p) => {
    const channel = rng() < 0.5 ? 'web' : 'call-center';
    return {
      customerId: p.customerId,
      channel,
      ...(channel === 'call-center' && rng() < 0.3 ? { context: { intent: 'cancel' } } : {}),
    };
  });
}

async function measure(name, rs, profiles, reqs) {
  const engines = referenceEngines(rs);
  const model = new LearnedPropensity(new LearningState(), seededRng(5));
  const learning = rs.source.arbitration.learning;
  const inputs = profiles.map((profile, i) => ({ request: reqs[i], profile, degraded: false }));
  const facts = inputs.map(({ profile, request }) => buildFacts(profile, request));
  const candidates = inputs.map(({ request, profile }, k) =>
    rs.byChannelCell
      .get(request.channel)
      .get(profile.lifecyclePhase)
      .get(profile.valueSegment)
      .filter((o) => o.eligible(facts[k])),
  );
  let i = 0;
  const next = () => (i = (i + 1) % inputs.length);
  let sink = 0;
  const bench = new Bench({ time: TASK_MS, warmupTime: Math.min(100, TASK_MS) });
  bench
    .add(`${name}: eligibility, compiled (every offer of the channel)`, () => {
      const k = next();
      for (const o of rs.byChannel.get(inputs[k].request.channel)) sink += o.eligible(facts[k]) ? 1 : 0;
    })
    .add(`${name}: eligibility, compiled with the phase × segment index`, () => {
      const k = next();
      for (const o of rs.byChannelCell
        .get(inputs[k].request.channel)
        .get(inputs[k].profile.lifecyclePhase)
        .get(inputs[k].profile.valueSegment))
        sink += o.eligible(facts[k]) ? 1 : 0;
    })
    .add(`${name}: eligibility, json-rules-engine`, async () => {
      const k = next();
      const { results } = await engines.get(inputs[k].request.channel).run(plainFacts(facts[k]));
      sink += results.length;
    })
    .add(`${name}: arbitration (eligible offers scored and ranked)`, () => {
      const k = next();
      sink += arbitrate(inputs[k], matchWeights(rs, inputs[k]), candidates[k], model, learning).length;
    })
    .add(`${name}: decide() (eligibility, arbitration, contact policy, answer)`, () => {
      const k = next();
      sink += decide(rs, inputs[k], model, { contacts: EMPTY_CONTACTS, now: Date.now() }).decision.offers.length;
    });
  await bench.run();
  if (sink < 0) console.log(sink); // keeps the work observable
  const eligible = candidates.reduce((n, c) => n + c.length, 0) / candidates.length;
  return { name, offers: rs.offers.length, eligibleMean: eligible, tasks: bench.tasks.map(summary) };
}

function summary(task) {
  const r = task.result;
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state} ${r.error ?? ''}`);
  return {
    task: task.name,
    meanUs: r.latency.mean * 1e3,
    p99Us: r.latency.p99 * 1e3,
    samples: r.latency.samplesCount ?? r.latency.samples?.length,
  };
}

async function profileLookups(profiles) {
  const memory = new MemoryProfileStore();
  await memory.putMany(profiles);
  const cached = new CachedProfileStore(memory, { max: 100_000, ttlMs: 60_000 });
  for (const p of profiles) await cached.get(p.customerId);
  let i = 0;
  let sink = 0;
  const bench = new Bench({ time: TASK_MS, warmupTime: Math.min(100, TASK_MS) });
  bench
    .add('profile look-up: cache hit (peek, synchronous)', () => {
      sink += cached.peek(profiles[(i = (i + 1) % profiles.length)].customerId) ? 1 : 0;
    })
    .add('profile look-up: cache hit through get() (one await)', async () => {
      sink += (await cached.get(profiles[(i = (i + 1) % profiles.length)].customerId)) ? 1 : 0;
    })
    .add('profile look-up: memory store get() (no cache)', async () => {
      sink += (await memory.get(profiles[(i = (i + 1) % profiles.length)].customerId)) ? 1 : 0;
    });
  await bench.run();
  if (sink < 0) console.log(sink);
  return bench.tasks.map(summary);
}

/**
 * The service's whole decision in process, as the route calls it on the embedded default (20 000
 * customers, the catalogue in `rulesDir`, the decision log to files): µs per decision, and the
 * bytes it allocates — the heap's growth over runs of decisions no garbage collection interrupted
 * (with the timings of the in-between reads of the heap).
 */
async function serviceDecisions(rulesDir) {
  const logDir = mkdtempSync(join(os.tmpdir(), 'nextbest-micro-decisions-'));
  const config = loadConfig({
    ...process.env,
    PROFILE_STORE: 'memory',
    DEMO_CUSTOMERS: '20000',
    RULES_DIR: rulesDir,
    DECISION_LOG_DIR: logDir,
    LOG_LEVEL: 'error',
  });
  const services = await buildServices(config, pino({ level: 'error' }));
  try {
    const rng = seededRng(17);
    const bodies = Array.from({ length: 16_384 }, () => {
      const channel = rng() < 0.5 ? 'web' : 'call-center';
      const customerId = `C${String(1 + Math.floor(rng() * 20_000)).padStart(7, '0')}`;
      return channel === 'call-center' && rng() < 0.3
        ? { customerId, channel, context: { intent: 'cancel' } }
        : { customerId, channel };
    });
    let i = 0;
    const one = () => services.decisions.decide(bodies[(i = (i + 1) % bodies.length)]);
    for (let k = 0; k < 20_000; k++) await one(); // warm
    // a scavenge empties the young generation: a run where it shrank was interrupted
    const young = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_used_size;
    const RUN = 200;
    const clean = [];
    const started = process.hrtime.bigint();
    let decided = 0;
    for (let run = 0; run < 200; run++) {
      const [heap, youngBefore] = [process.memoryUsage().heapUsed, young()];
      for (let k = 0; k < RUN; k++) await one();
      const grown = process.memoryUsage().heapUsed - heap;
      decided += RUN;
      if (young() > youngBefore) clean.push(grown / RUN);
    }
    const us = Number(process.hrtime.bigint() - started) / 1e3 / decided;
    clean.sort((a, b) => a - b);
    return {
      meanUs: us,
      bytesPerDecision: clean.length ? clean[Math.floor(clean.length / 2)] : null,
      cleanRuns: clean.length,
    };
  } finally {
    await services.close();
    rmSync(logDir, { recursive: true, force: true });
  }
}

const fmt = (us) => (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0)).padStart(8);

async function main() {
  const startedAt = new Date();
  console.log(
    `nextbest micro-benchmarks — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${TASK_MS} ms per task`,
  );
  const profiles = generateProfiles({ customers: PROFILES, seed: 3 });
  const reqs = requests(profiles);
  const tmp = mkdtempSync(join(os.tmpdir(), 'nextbest-catalogue-'));
  const catalogues = [{ name: 'shipped', rs: await ruleset(SHIPPED_RULES) }];
  let service;
  try {
    for (const n of SIZES) {
      writeCatalogue(join(tmp, String(n)), n);
      catalogues.push({ name: `${n} offers`, rs: await ruleset(join(tmp, String(n))) });
    }
    const size = SIZES[0] ?? 60;
    if (!SIZES.length) writeCatalogue(join(tmp, String(size)), size);
    service = { offers: size, ...(await serviceDecisions(join(tmp, String(size)))) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const results = [];
  for (const { name, rs } of catalogues) {
    const r = await measure(name, rs, profiles, reqs);
    results.push(r);
    console.log(`\n${name}: ${r.offers} offers, ${r.eligibleMean.toFixed(1)} eligible per decision on average`);
    console.log(`${'mean µs'.padStart(8)} ${'p99 µs'.padStart(8)}  task`);
    for (const t of r.tasks) console.log(`${fmt(t.meanUs)} ${fmt(t.p99Us)}  ${t.task.slice(name.length + 2)}`);
  }
  const lookups = await profileLookups(profiles);
  console.log('');
  for (const t of lookups) console.log(`${fmt(t.meanUs)} ${fmt(t.p99Us)}  ${t.task}`);
  console.log(
    `\nthe service's decision in process (${service.offers} offers, 20 000 customers, contact policy, reservation, decision log, tallies): ` +
      `${service.meanUs.toFixed(1)} µs and ${service.bytesPerDecision === null ? 'n/a' : Math.round(service.bytesPerDecision).toLocaleString('en-US')} bytes allocated per decision ` +
      `(median of ${service.cleanRuns} runs of 200 decisions without a collection)`,
  );

  // how the cost grows with the catalogue: each size against the smallest generated one (60 by default)
  const base = results.find((r) => r.name !== 'shipped') ?? results[0];
  const scaling = results.map((r) => ({
    catalogue: r.name,
    offers: r.offers,
    perTask: Object.fromEntries(
      r.tasks.map((t, k) => [t.task.slice(r.name.length + 2), t.meanUs / base.tasks[k].meanUs]),
    ),
  }));
  console.log(`\ncost against ${base.name} (mean µs ratio; offers ratio in brackets):`);
  for (const s of scaling) {
    const d = s.perTask['decide() (eligibility, arbitration, contact policy, answer)'];
    const jre = s.perTask['eligibility, json-rules-engine'];
    console.log(
      `  ${s.catalogue.padEnd(11)} [${(s.offers / base.offers).toFixed(2)}×]  decide() ${d.toFixed(2)}×, json-rules-engine ${jre.toFixed(2)}×`,
    );
  }
  const speedup = results.map((r) => `${r.name}: ${(r.tasks[2].meanUs / r.tasks[1].meanUs).toFixed(0)}×`).join(', ');
  console.log(`compiled eligibility (with the index) vs json-rules-engine: ${speedup} faster`);

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = `micro-${startedAt.toISOString().replace(/:/g, '-')}.json`;
  writeFileSync(
    new URL(`./results/${name}`, import.meta.url),
    `${JSON.stringify({ startedAt: startedAt.toISOString(), node: process.version, cpus: os.cpus().length, taskMs: TASK_MS, results, lookups, service, scaling }, null, 2)}\n`,
  );
  console.log(`\nresults: bench/results/${name}`);
}

main().catch((err) => {
  console.error(`micro-benchmarks failed: ${err.stack ?? err}`);
  process.exit(1);
});
