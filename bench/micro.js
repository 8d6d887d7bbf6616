// npm run bench:micro — the decision's parts, in process, over the shipped rules and larger generated
// catalogues: eligibility compiled vs json-rules-engine, arbitration, the whole synchronous decide(),
// and the profile look-up. BENCH_MICRO_MS (300) per task; BENCH_MICRO_OFFERS (60,200) extra sizes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Engine } from 'json-rules-engine';
import { Bench } from 'tinybench';
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
  try {
    for (const n of SIZES) {
      writeCatalogue(join(tmp, String(n)), n);
      catalogues.push({ name: `${n} offers`, rs: await ruleset(join(tmp, String(n))) });
    }
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
    `${JSON.stringify({ startedAt: startedAt.toISOString(), node: process.version, cpus: os.cpus().length, taskMs: TASK_MS, results, lookups, scaling }, null, 2)}\n`,
  );
  console.log(`\nresults: bench/results/${name}`);
}

main().catch((err) => {
  console.error(`micro-benchmarks failed: ${err.stack ?? err}`);
  process.exit(1);
});
