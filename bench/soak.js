// npm run bench:soak — holds 70 % of nextbest's measured maximum for 10 minutes and reports how
// memory and event-loop lag behave: resident memory and heap after the first minute (warm) against
// the end, and the event-loop lag p99 of every 30-second slice, as the service's own /metrics says.
// SOAK_SECONDS (600), SOAK_SHARE (0.7), SOAK_SLICE_SECONDS (30), BENCH_OFFERS (60).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { makeBodies } from './bodies.js';
import { writeCatalogue } from './catalogue.js';
import { fixedRate } from './fixed-rate.js';
import { gauge } from './histogram.js';
import { load } from './load.js';
import { die, startNextbest, stopAll } from './servers.js';

const env = process.env;
const SECONDS = Number(env.SOAK_SECONDS || 600);
const SHARE = Number(env.SOAK_SHARE || 0.7);
const SLICE = Number(env.SOAK_SLICE_SECONDS || 30);
const OFFERS = Number(env.BENCH_OFFERS || 60);
const CUSTOMERS = 20_000;
const CONNECTIONS = 32;
/** memory is compared from here on: start-up and the JIT's warm-up are not growth */
const WARM_SECONDS = 60;

const MB = 1024 * 1024;
const fmt = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
const pct = (x) => `${(x * 100).toFixed(1)} %`;

/** What the service says of itself: memory, and the event-loop lag since the previous scrape (prom-client resets it on each read). */
async function scrape(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return {
    rss: gauge(text, 'nextbest_process_resident_memory_bytes'),
    heapUsed: gauge(text, 'nextbest_nodejs_heap_size_used_bytes'),
    lagP99Ms: gauge(text, 'nextbest_nodejs_eventloop_lag_p99_seconds') * 1000,
    lagMaxMs: gauge(text, 'nextbest_nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const rulesDir = mkdtempSync(join(os.tmpdir(), 'nextbest-soak-rules-'));
  writeCatalogue(rulesDir, OFFERS);
  const { bodies } = makeBodies(CUSTOMERS);
  const nextbest = await startNextbest(CUSTOMERS, rulesDir);
  console.log(
    `nextbest soak — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.split(' ')[0] ?? 'CPU'}, ${OFFERS} offers, ${CUSTOMERS} customers; load generator on the same machine`,
  );

  await load({
    url: nextbest.url,
    path: '/v1/decisions',
    seconds: 3,
    connections: CONNECTIONS,
    bodies,
    pid: nextbest.child.pid,
  });
  const max = await load({
    url: nextbest.url,
    path: '/v1/decisions',
    seconds: 10,
    connections: CONNECTIONS,
    bodies,
    pid: nextbest.child.pid,
  });
  const rate = Math.round(max.reqPerSec * SHARE);
  console.log(
    `max ${Math.round(max.reqPerSec)} decisions/s (10 s, ${CONNECTIONS} connections); holding ${rate}/s (${pct(SHARE)}) for ${SECONDS} s in ${SLICE}-second slices\n`,
  );
  console.log('   time   rate/s   p50 ms   p99 ms  failed   RSS        heap used   loop lag p99  max');

  await scrape(nextbest.url); // resets the lag window
  const slices = [];
  for (let t = 0; t < SECONDS; t += SLICE) {
    const seconds = Math.min(SLICE, SECONDS - t);
    const r = await fixedRate({
      url: nextbest.url,
      path: '/v1/decisions',
      rate,
      seconds,
      connections: CONNECTIONS,
      bodies,
      warmupSeconds: 0,
    });
    const m = await scrape(nextbest.url);
    const slice = {
      endsAt: t + seconds,
      achieved: r.sent / r.seconds,
      p50Ms: r.latencyMs.p50,
      p99Ms: r.latencyMs.p99,
      failed: r.failed,
      ...m,
    };
    slices.push(slice);
    console.log(
      `${String(slice.endsAt).padStart(5)} s ${String(Math.round(slice.achieved)).padStart(8)} ${slice.p50Ms.toFixed(2).padStart(8)} ${slice.p99Ms.toFixed(2).padStart(8)} ${String(r.failed).padStart(7)}   ${fmt(m.rss).padEnd(10)} ${fmt(m.heapUsed).padEnd(11)} ${m.lagP99Ms.toFixed(1).padStart(9)} ms ${m.lagMaxMs.toFixed(0).padStart(4)} ms`,
    );
  }

  const warm = slices.find((s) => s.endsAt >= WARM_SECONDS) ?? slices[0];
  const end = slices.at(-1);
  const lagP99s = slices.map((s) => s.lagP99Ms);
  const summary = {
    rate,
    maxRate: Math.round(max.reqPerSec),
    seconds: SECONDS,
    rssWarm: warm.rss,
    rssEnd: end.rss,
    rssGrowth: end.rss / warm.rss - 1,
    heapWarm: warm.heapUsed,
    heapEnd: end.heapUsed,
    heapGrowth: end.heapUsed / warm.heapUsed - 1,
    lagP99MedianMs: median(lagP99s),
    lagP99WorstMs: Math.max(...lagP99s),
    failed: slices.reduce((n, s) => n + s.failed, 0),
  };
  console.log(
    `\nresident memory ${fmt(summary.rssWarm)} at ${warm.endsAt} s → ${fmt(summary.rssEnd)} at ${end.endsAt} s: ${pct(summary.rssGrowth)} (target < 10 %)`,
  );
  console.log(`heap used ${fmt(summary.heapWarm)} → ${fmt(summary.heapEnd)}: ${pct(summary.heapGrowth)}`);
  console.log(
    `event-loop lag p99 per slice: median ${summary.lagP99MedianMs.toFixed(1)} ms, worst ${summary.lagP99WorstMs.toFixed(1)} ms (target < 20 ms); failed requests ${summary.failed}`,
  );

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/soak-${new Date().toISOString().replace(/:/g, '-')}.json`, import.meta.url);
  writeFileSync(
    file,
    JSON.stringify(
      { node: process.version, offers: OFFERS, customers: CUSTOMERS, share: SHARE, summary, slices },
      null,
      2,
    ),
  );
  console.log(`results: ${file.pathname.replace(`${process.cwd()}/`, '')}`);
  await stopAll();
  rmSync(rulesDir, { recursive: true, force: true });
}

main().catch((err) => die(err.stack ?? String(err)));
