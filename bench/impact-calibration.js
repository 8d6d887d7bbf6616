// The calibration of `nextbest impact` on the demo world: over many seeded worlds whose true
// effects are known (src/offline/demo/world.ts), how often does each 95 % interval contain the
// truth? For a calibrated interval about 95 % of the time, per group: within ±3 points at 200
// seeds (the binomial's 95 % range at p = 0.95, n = 200, is about 92–98 %).
//
//   npm run bench:impact                         # 200 seeds of 8 000 customers
//   IMPACT_SEEDS=50 IMPACT_CUSTOMERS=20000 npm run bench:impact
//
// Each world is made and measured in process (dist/), nothing is written.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { iterateWorld, worldEffect, worldRuleSet } from '../dist/offline/demo/index.js';
import { ImpactReader } from '../dist/offline/impact/index.js';
import { loadRuleSet } from '../dist/rules/index.js';

const SEEDS = Number(process.env.IMPACT_SEEDS ?? 200);
const CUSTOMERS = Number(process.env.IMPACT_CUSTOMERS ?? 8000);
const FIRST_SEED = Number(process.env.IMPACT_FIRST_SEED ?? 1);
for (const [name, n] of [
  ['IMPACT_SEEDS', SEEDS],
  ['IMPACT_CUSTOMERS', CUSTOMERS],
  ['IMPACT_FIRST_SEED', FIRST_SEED],
])
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${n}`);

const rulesDir = fileURLToPath(new URL('../rules', import.meta.url));
const loaded = await loadRuleSet(rulesDir);
if (!loaded.ok) throw new Error(`the rule set in ${rulesDir} is invalid`);
const ruleset = worldRuleSet(loaded.source);

/** per group key: the tallies over the seeds */
const groups = new Map();
const tallyOf = (key) => {
  let t = groups.get(key);
  if (!t)
    groups.set(
      key,
      (t = { seeds: 0, effect: false, plain: 0, cuped: 0, active: 0, widthReduction: 0, varianceReduction: 0 }),
    );
  return t;
};
const inside = (e, truth) => e.ciLow <= truth && truth <= e.ciHigh;

const started = performance.now();
for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
  const reader = new ImpactReader({ from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY, outcomeDays: 90 });
  // the true effects: per group, the mean of its customers' own effects (the total likewise)
  const truth = new Map();
  const add = (key, effect) => {
    let s = truth.get(key);
    if (!s) truth.set(key, (s = { n: 0, revenue: 0, activeRate: 0 }));
    s.n++;
    s.revenue += effect.revenue;
    s.activeRate += effect.activeRate;
  };
  const transactions = [];
  for (const c of iterateWorld({ customers: CUSTOMERS, seed, ruleset })) {
    for (const d of c.decisions) reader.decision(d.line);
    for (const t of c.transactions) transactions.push(t);
    const effect = worldEffect(c.profile);
    add('all\tall', effect);
    add(`${c.profile.lifecyclePhase}\t${c.profile.valueSegment}`, effect);
  }
  for (const t of transactions) reader.transaction(t);
  const report = reader.result();
  if (report.pending > 0) throw new Error(`seed ${seed}: ${report.pending} customers pending`);
  for (const g of report.comparisons[0].groups) {
    if (g.revenuePerCustomer === null) continue;
    const key = `${g.lifecyclePhase}\t${g.valueSegment}`;
    const s = truth.get(key);
    const revenue = s.revenue / s.n;
    const activeRate = s.activeRate / s.n;
    const t = tallyOf(key);
    t.seeds++;
    if (activeRate !== 0) t.effect = true;
    if (inside(g.revenuePerCustomer, revenue)) t.plain++;
    if (inside(g.revenuePerCustomerCuped, revenue)) t.cuped++;
    if (inside(g.activeRate, activeRate)) t.active++;
    const plainWidth = g.revenuePerCustomer.ciHigh - g.revenuePerCustomer.ciLow;
    const cupedWidth = g.revenuePerCustomerCuped.ciHigh - g.revenuePerCustomerCuped.ciLow;
    t.widthReduction += 1 - cupedWidth / plainWidth;
    t.varianceReduction += g.revenuePerCustomerCuped.varianceReduction;
  }
}
const seconds = (performance.now() - started) / 1000;

const pct = (k, n) => (n === 0 ? '–' : `${((100 * k) / n).toFixed(1)} %`);
const keys = [...groups.keys()].sort((a, b) => (a === 'all\tall' ? -1 : b === 'all\tall' ? 1 : a < b ? -1 : 1));
console.log(
  `impact calibration: ${SEEDS} worlds (seeds ${FIRST_SEED}–${FIRST_SEED + SEEDS - 1}) of ${CUSTOMERS} customers, ` +
    `coverage of the 95 % intervals of treatment − control over the worlds where a group has intervals`,
);
console.log(
  [
    'group'.padEnd(18),
    'effect'.padEnd(7),
    'worlds'.padStart(6),
    'revenue'.padStart(9),
    'CUPED'.padStart(9),
    'active'.padStart(9),
    'CUPED width −'.padStart(14),
  ].join(' '),
);
const pooled = { seeds: 0, plain: 0, cuped: 0, active: 0 };
const effectGroups = { seeds: 0, plain: 0, cuped: 0, active: 0 };
const zeroGroups = { seeds: 0, plain: 0, cuped: 0, active: 0 };
for (const key of keys) {
  const t = groups.get(key);
  const [phase, segment] = key.split('\t');
  console.log(
    [
      `${phase} × ${segment}`.padEnd(18),
      (t.effect ? 'yes' : 'none').padEnd(7),
      String(t.seeds).padStart(6),
      pct(t.plain, t.seeds).padStart(9),
      pct(t.cuped, t.seeds).padStart(9),
      pct(t.active, t.seeds).padStart(9),
      pct(t.widthReduction, t.seeds).padStart(14),
    ].join(' '),
  );
  if (key === 'all\tall') continue;
  for (const into of [pooled, t.effect ? effectGroups : zeroGroups])
    for (const f of ['seeds', 'plain', 'cuped', 'active']) into[f] += t[f];
}
const line = (name, t) =>
  console.log(
    `${name.padEnd(26)} ${String(t.seeds).padStart(6)} ${pct(t.plain, t.seeds).padStart(9)} ${pct(t.cuped, t.seeds).padStart(9)} ${pct(t.active, t.seeds).padStart(9)}`,
  );
console.log('');
line('groups with an effect', effectGroups);
line('groups without', zeroGroups);
line('every group', pooled);
const total = groups.get('all\tall');
console.log(
  `\nmean CUPED interval-width reduction: total ${pct(total.widthReduction, total.seeds)} ` +
    `(variance ${pct(total.varianceReduction, total.seeds)}); ${seconds.toFixed(1)} s, ${(seconds / SEEDS).toFixed(2)} s a world`,
);
