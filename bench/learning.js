// npm run bench:learning — does the learning loop find the offer customers want? A regret curve.
// node bench/learning.js [--decisions N] [--seed S]: N decisions (1500) of simulated web visits, clicks drawn with seed S (1).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildServices, createApp } from '../dist/boot.js';
import { loadConfig } from '../dist/config.js';
import { seededRng } from '../dist/math/random.js';
import { Metrics } from '../dist/ops/metrics.js';

const GOOD_CLICK = 0.45;
const OTHER_CLICK = 0.02;
const WINDOW = 100;
const LEAD_WINDOW = 20; // finer than the table: how soon the good offer takes the lead
const CUSTOMERS = 300; // decisions cycle over them; all share one learning cell
const SHIPPED_RULES = fileURLToPath(new URL('../rules', import.meta.url));
const PROFILE = {
  valueSegment: 'middle',
  lifecyclePhase: 'loyalty',
  clv: 1200,
  churnScore: 0.1,
  tenureDays: 900,
  consents: ['web'],
};

/** The shipped rules without contact-policy rules (caps would cut the good offer) and without a control group (random offers). */
async function learningRules() {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-learning-'));
  await cp(SHIPPED_RULES, dir, { recursive: true });
  const edit = async (file, change) =>
    writeFile(join(dir, file), JSON.stringify(change(JSON.parse(await readFile(join(dir, file), 'utf8'))), null, 2));
  await edit('contact-policy.json', (policy) => ({ ...policy, rules: [] }));
  await edit('manifest.json', ({ controlGroup, ...manifest }) => manifest);
  return dir;
}

function inProcess(app) {
  const send = async (method, path, body) => {
    const res = await app.request(path, {
      method,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    put: (id) => send('PUT', `/v1/profiles/${id}`, { customerId: id, ...PROFILE }),
    decide: (customerId, explain = false) =>
      send('POST', '/v1/decisions', { customerId, channel: 'web', limit: 1, ...(explain ? { explain } : {}) }),
    respond: (events) => send('POST', '/v1/responses', { events }),
  };
}

/** Every eligible offer with its reported propensity (the posterior mean) and its expected score at that propensity. */
async function eligible(api, customerId) {
  const { explanation } = await api.decide(customerId, true);
  return explanation
    .filter((e) => e.eligible)
    .map(({ offerId, scoreParts: p }) => ({
      offerId,
      propensity: p.propensity,
      expectedScore: p.propensity * p.contextWeight * p.value * p.lever,
    }))
    .sort((a, b) => b.expectedScore - a.expectedScore || (a.offerId < b.offerId ? -1 : 1));
}

async function simulate(api, decisions, seed) {
  const rng = seededRng(seed);
  for (let i = 0; i < CUSTOMERS; i++) await api.put(`L${i}`);
  await api.put('probe-before');
  const before = await eligible(api, 'probe-before');
  const good = before.at(-1).offerId; // the offer the rules rank last before anything is learned
  const windows = [];
  let clicks = 0;
  let regret = 0;
  let shownGood = 0;
  const goodShown = [];
  const perOffer = Object.fromEntries(before.map((o) => [o.offerId, { impressions: 0, clicks: 0 }]));
  for (let i = 0; i < decisions; i++) {
    const customerId = `L${i % CUSTOMERS}`;
    const { decisionId, offers } = await api.decide(customerId);
    const shown = offers[0]?.offerId;
    const p = shown === good ? GOOD_CLICK : shown ? OTHER_CLICK : 0;
    const events = shown
      ? [{ customerId, offerId: shown, outcome: 'impression', channel: 'web', decisionId, eventId: `i${i}` }]
      : [];
    if (shown) perOffer[shown].impressions++;
    if (rng() < p) {
      perOffer[shown].clicks++;
      events.push({ customerId, offerId: shown, outcome: 'click', channel: 'web', decisionId, eventId: `c${i}` });
      clicks++;
    }
    if (events.length) await api.respond(events);
    regret += GOOD_CLICK - p;
    if (shown === good) shownGood++;
    goodShown.push(shown === good);
    if ((i + 1) % WINDOW === 0 || i + 1 === decisions) {
      const size = i + 1 - (windows.at(-1)?.decisions ?? 0);
      windows.push({
        decisions: i + 1,
        goodShare: shownGood / size,
        cumulativeClicks: clicks,
        cumulativeRegret: regret,
      });
      shownGood = 0;
    }
  }
  await api.put('probe-after');
  const after = await eligible(api, 'probe-after');
  return { good, before, after, windows, leadsFromDecision: leadsFrom(goodShown), perOffer };
}

/** The decision after which every run of LEAD_WINDOW decisions shows the good offer more often than not; null if it never leads. */
function leadsFrom(goodShown) {
  let inWindow = 0;
  let lastBehind = -1; // the last decision ending a window where the good offer was not ahead
  goodShown.forEach((isGood, i) => {
    inWindow += (isGood ? 1 : 0) - (i >= LEAD_WINDOW && goodShown[i - LEAD_WINDOW] ? 1 : 0);
    if (i + 1 < LEAD_WINDOW || inWindow * 2 <= LEAD_WINDOW) lastBehind = i;
  });
  return lastBehind === goodShown.length - 1 ? null : lastBehind + 1;
}

function print(r, settings) {
  console.log(
    `learning: ${settings.decisions} web decisions (limit 1), ${CUSTOMERS} customers in one cell (loyalty × middle), click seed ${settings.seed}`,
  );
  console.log(
    `eligible offers before learning, by expected score: ${r.before.map((o) => `${o.offerId} (${o.propensity})`).join(', ')}`,
  );
  console.log(`good offer: ${r.good} (clicked with p ${GOOD_CLICK}; every other offer ${OTHER_CLICK})\n`);
  console.log(
    `${'decisions'.padStart(9)} ${'good shown'.padStart(10)} ${'clicks'.padStart(7)} ${'regret'.padStart(8)}`,
  );
  for (const w of r.windows) {
    console.log(
      `${String(w.decisions).padStart(9)} ${`${(w.goodShare * 100).toFixed(0)} %`.padStart(10)} ${String(w.cumulativeClicks).padStart(7)} ${w.cumulativeRegret.toFixed(1).padStart(8)}`,
    );
  }
  const last = r.windows.at(-1);
  console.log(
    `\nregret: ${last.cumulativeRegret.toFixed(1)} expected clicks lost of ${(settings.decisions * GOOD_CLICK).toFixed(0)} possible; ` +
      `the good offer leads (shown in most of every later ${LEAD_WINDOW} decisions) ${r.leadsFromDecision === null ? 'never' : `after decision ${r.leadsFromDecision}`}`,
  );
  console.log(
    `after learning: ${r.after.map((o) => `${o.offerId} propensity ${o.propensity} (${r.perOffer[o.offerId].clicks} clicks / ${r.perOffer[o.offerId].impressions} impressions)`).join(', ')}`,
  );
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

async function main() {
  const { values } = parseArgs({
    options: { decisions: { type: 'string', default: '1500' }, seed: { type: 'string', default: '1' } },
  });
  const settings = { decisions: Number(values.decisions), seed: Number(values.seed) };
  if (!Number.isInteger(settings.decisions) || settings.decisions < 1 || !Number.isInteger(settings.seed)) {
    console.error('usage: node bench/learning.js [--decisions N ≥ 1] [--seed INTEGER]');
    process.exit(2);
  }
  const startedAt = new Date();
  const rules = await learningRules();
  const log = pino({ level: 'silent' });
  const services = await buildServices(
    loadConfig({ RULES_DIR: rules, DEMO_CUSTOMERS: '100', LOG_LEVEL: 'silent' }),
    log,
    new Metrics({ defaultMetrics: false }),
  );
  try {
    const result = await simulate(inProcess(createApp(services)), settings.decisions, settings.seed);
    print(result, settings);
    const results = {
      startedAt: startedAt.toISOString(),
      commit: gitCommit(),
      node: process.version,
      settings: {
        ...settings,
        customers: CUSTOMERS,
        window: WINDOW,
        leadWindow: LEAD_WINDOW,
        clickProbability: { good: GOOD_CLICK, other: OTHER_CLICK },
      },
      ...result,
    };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    const name = `learning-${startedAt.toISOString().replace(/:/g, '-')}.json`; // no ':' in file names, for Windows
    writeFileSync(new URL(`./results/${name}`, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nresults: bench/results/${name}`);
  } finally {
    await services.close();
    await rm(rules, { recursive: true, force: true });
  }
}

await main();
