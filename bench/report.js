// What the bench prints: a per-round table, the summary lines, the fixed-rate run, loud failures.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const int = (n) => (n == null || Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const ms = (n) => n.toFixed(2);
const us = (q) => (q ? `${q.beyondLastBucket ? '>' : '~'}${Math.round(q.seconds * 1e6)} µs` : 'n/a');
export const pct = (x) => `${(x * 100).toFixed(1)} %`;

const COLUMNS = [
  ['round', 6, (r) => r.round],
  ['decisions/s', 12, (r) => int(r.nextbest.reqPerSec)],
  ['bare req/s', 11, (r) => int(r.bare.reqPerSec)],
  ['ratio', 7, (r) => r.ratio.toFixed(3)],
  ['echo req/s', 11, (r) => int(r.echo.reqPerSec)],
  ['÷ echo', 7, (r) => r.echoRatio.toFixed(3)],
  ['p50 ms', 8, (r) => ms(r.nextbest.latencyMs.p50)],
  ['p99 ms', 8, (r) => ms(r.nextbest.latencyMs.p99)],
  ['p99.9 ms', 9, (r) => ms(r.nextbest.latencyMs.p99_9)],
  ['CPU µs/decision', 16, (r) => int(r.nextbest.serverCpuUsPerRequest)],
  ['CPU µs/bare', 12, (r) => int(r.bare.serverCpuUsPerRequest)],
  ['failed', 20, (r) => (r.failed ? `!! ${r.nextbest.failed} / ${r.bare.failed} bare / ${r.echo.failed} echo` : '0')],
];
const line = (cells) => cells.map((c, i) => String(c).padStart(COLUMNS[i][1])).join(' ');

export const printHeader = () => console.log(line(COLUMNS.map(([title]) => title)));
export const printRound = (round) => console.log(line(COLUMNS.map(([, , cell]) => cell(round))));

export function printSummary(s, rounds) {
  const row = {
    round: 'median',
    ratio: s.ratio,
    echoRatio: s.echoRatio,
    failed: 0,
    nextbest: {
      reqPerSec: s.decisionsPerSec,
      latencyMs: s.decisionLatencyMs,
      serverCpuUsPerRequest: s.serverCpuUsPerRequest.nextbest,
    },
    bare: { reqPerSec: s.bareReqPerSec, serverCpuUsPerRequest: s.serverCpuUsPerRequest.bare },
    echo: { reqPerSec: s.echoReqPerSec },
  };
  console.log(line(COLUMNS.map(([, , cell], i) => (i === COLUMNS.length - 1 ? '' : cell(row)))));
  const { nextbest: cpuA, bare: cpuB } = s.serverCpuUsPerRequest;
  console.log(
    `\nratio decisions/s ÷ bare req/s (the bare endpoint answering a decision-sized body): ${s.ratio.toFixed(3)} (median of per-round ratios, range ${s.ratioRange.map((r) => r.toFixed(3)).join('–')})` +
      (cpuA ? `; by server CPU per request (bare ÷ nextbest): ${(cpuB / cpuA).toFixed(3)}` : ''),
  );
  console.log(
    `ratio decisions/s ÷ echo req/s (a 40-byte answer): ${s.echoRatio.toFixed(3)}; the echo itself against the decision-sized bare answer: ${(s.bareReqPerSec / s.echoReqPerSec).toFixed(3)}`,
  );
  console.log(
    'latency: autocannon send → full response, 32 connections in closed loop (so ≈ connections ÷ throughput)',
  );
  console.log(
    'server-side decision time: bucket-interpolated, from validated request to answer (no HTTP, body parsing, validation or JSON out)',
  );
  if (s.ratioRange[1] > 1.2 * s.ratioRange[0])
    console.log("note: the ratio moved over 20 % between rounds: something else was using this machine's CPU");
  if (median(rounds.map((r) => r.bare.clientCpuShare)) > 0.9) {
    console.log(
      'note: the load generator used about a full core in the bare runs: bare req/s is a floor, and the ratio flatters nextbest',
    );
  }
}

export function printServerSide(title, h) {
  console.log(
    `server-side, ${title}: decision time (nextbest_decision_duration_seconds, ${int(h.decisions)} decisions) ` +
      `p50 ${us(h.p50)}, p99 ${us(h.p99)}; GC ${int(h.gcSeconds * 1000)} ms in ${int(h.gcCount)} pauses; ` +
      `longest event-loop delay ${h.loopDelayMaxSeconds == null ? 'n/a' : `${int(h.loopDelayMaxSeconds * 1000)} ms`}`,
  );
}

export function printFixedRate(f, server) {
  console.log(
    `  achieved ${int(f.sent / f.seconds)} req/s; latency from the intended send time (corrected for coordinated omission): ` +
      `p50 ${ms(f.latencyMs.p50)} ms, p99 ${ms(f.latencyMs.p99)} ms, p99.9 ${ms(f.latencyMs.p99_9)} ms`,
  );
  console.log(
    `  from the actual send (uncorrected): p50 ${ms(f.uncorrectedLatencyMs.p50)} ms, p99 ${ms(f.uncorrectedLatencyMs.p99)} ms; ` +
      `generator lag max ${f.maxLagMs.toFixed(1)} ms; failed ${f.failed ? `!! ${f.failed} ${JSON.stringify(f.statusCodes)}` : 0}`,
  );
  console.log(
    "  (our own open-loop sender: autocannon's overallRate sends each second's quota in a burst, and its correction assumes a 1 ms interval)",
  );
  printServerSide('at the fixed rate', server);
}

export function printFailures(failed, rounds, fixed) {
  if (!failed) return;
  console.error(
    `\n!!!!!!!! ${failed} requests failed (non-2xx, errors or timeouts): these numbers do not measure decisions !!!!!!!!`,
  );
  for (const r of rounds) {
    console.error(
      `  round ${r.round}: nextbest ${JSON.stringify(r.nextbest.statusCodes)} errors ${r.nextbest.errors} timeouts ${r.nextbest.timeouts}; ` +
        `bare ${JSON.stringify(r.bare.statusCodes)} errors ${r.bare.errors} timeouts ${r.bare.timeouts}`,
    );
  }
  console.error(`  fixed rate: ${JSON.stringify(fixed.statusCodes)} errors ${fixed.errors}`);
}

export function printCluster(c, s) {
  console.log(
    `\n${c.workers} workers (node:cluster, one port): ${int(c.decisionsPerSec)} decisions/s, ${(c.decisionsPerSec / s.decisionsPerSec).toFixed(2)}× one process; ` +
      `p50 ${ms(c.latencyMs.p50)} ms, p99 ${ms(c.latencyMs.p99)} ms; CPU ${int(c.serverCpuUsPerRequest)} µs/decision over all workers` +
      (c.failed ? `; !! ${c.failed} failed` : ''),
  );
  console.log(
    '  (the load generator shares the machine: with as many cores as workers, it takes CPU the workers would use)',
  );
}
