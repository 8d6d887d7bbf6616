// What the bench prints: a row per server per round, the summary lines, the fixed-rate runs, loud failures.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const int = (n) => (n == null || Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const ms = (n) => (n == null || Number.isNaN(n) ? 'n/a' : n.toFixed(2));
const x = (n) => (n == null || Number.isNaN(n) ? 'n/a' : `${n.toFixed(2)}×`);
const us = (q) => (q ? `${q.beyondLastBucket ? '>' : '~'}${Math.round(q.seconds * 1e6)} µs` : 'n/a');
export const pct = (x) => `${(x * 100).toFixed(1)} %`;
const NAMES = { memory: 'nextbest', redis: 'nextbest (redis)', bare: 'bare', echo: 'echo' };

const COLUMNS = [
  ['round', 6, (r) => r.round],
  ['server', 17, (r) => NAMES[r.name]],
  ['req/s', 8, (r) => int(r.reqPerSec)],
  ['p50 ms', 7, (r) => ms(r.latencyMs.p50)],
  ['p99 ms', 7, (r) => ms(r.latencyMs.p99)],
  ['CPU µs/req', 11, (r) => int(r.serverCpuUsPerRequest)],
  ['÷ bare CPU', 11, (r) => (r.cpuRatio === undefined ? '' : x(r.cpuRatio))],
  ['Redis µs/req', 13, (r) => (r.redis ? int(r.redis.cpuUsPerDecision) : '')],
  ['Redis cmds/req', 15, (r) => (r.redis ? r.redis.commandsPerDecision.toFixed(2) : '')],
  // the reservations (and the decision log's batches): fewer as the customers reach their caps
  ['scripts/req', 12, (r) => (r.redis ? ((r.redis.calls.evalsha ?? 0) + (r.redis.calls.eval ?? 0)).toFixed(2) : '')],
  ['failed', 8, (r) => (r.failed ? `!! ${r.failed}` : '0')],
];
const line = (cells) => cells.map((c, i) => String(c).padStart(COLUMNS[i][1])).join(' ');

export const printHeader = () => console.log(line(COLUMNS.map(([title]) => title)));
export function printRound(round, targets) {
  for (const t of targets)
    console.log(line(COLUMNS.map(([, , cell]) => cell({ round: round.round, name: t.name, ...round.runs[t.name] }))));
}

export function printSummary(s, rounds) {
  for (const name of [...Object.keys(s.stores), 'bare', 'echo']) {
    const m = s.stores[name] ?? s[name];
    console.log(
      line(COLUMNS.map(([, , cell], i) => (i === COLUMNS.length - 1 ? '' : cell({ round: 'median', name, ...m })))),
    );
  }
  console.log('');
  for (const [name, m] of Object.entries(s.stores)) {
    console.log(
      `${NAMES[name]}: CPU per decision ÷ CPU per bare answer ${x(m.cpuRatio)} (median of the rounds' ratios, range ${m.cpuRatioRange.map((r) => r.toFixed(2)).join('–')}); ` +
        `${int(m.serverCpuUsPerRequest)} µs against ${int(s.bare.serverCpuUsPerRequest)} µs; ${int(m.reqPerSec)} decisions/s, ${m.ratio.toFixed(3)} of bare req/s`,
    );
  }
  const { memory, redis } = s.stores;
  if (memory && redis)
    console.log(
      `with Redis, nextbest's CPU per decision is ${x(redis.serverCpuUsPerRequest / memory.serverCpuUsPerRequest)} the memory store's`,
    );
  if (redis) {
    const calls = Object.entries(redis.redis.calls)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n.toFixed(2)}`)
      .join(', ');
    const t = redis.serverSide.roundTripsPerDecision;
    const trips =
      t &&
      `${(t.read + t.reserve + t.reread).toFixed(2)} (read ${t.read.toFixed(2)}, reserve ${t.reserve.toFixed(2)}, read again ${t.reread.toFixed(2)})`;
    console.log(
      `Redis per decision: ${int(redis.redis.cpuUsPerDecision)} µs CPU (redis-server's user + system), ${redis.redis.commandsPerDecision.toFixed(2)} commands (${calls}, over every round, scripts' own calls included); ` +
        `${trips ?? 'n/a'} round trips a decision waits for (nextbest_decision_store_round_trips_total)`,
    );
    console.log(
      `  a customer's contact state held ${redis.redis.contactFields?.toFixed(1) ?? 'n/a'} fields on average (a sample of 500): the bench decides each customer every few seconds, so holds and counts pile up to the caps`,
    );
    const b = redis.redis.bytes;
    console.log(
      `  Redis memory (MEMORY USAGE, mean of samples): a profile ${int(b.profile)} bytes, a contact state ${int(b.contacts)}, a decision's key ${int(b.decision)}, a stream entry ${int(b.streamEntry)}`,
    );
  }
  console.log(
    'CPU: user + system of the server process (every thread) ÷ answers; latency: autocannon send → full response, 32 connections in closed loop',
  );
  for (const [name, m] of Object.entries(s.stores)) printServerSide(`${NAMES[name]}, under full load`, m.serverSide);
  const spread = Object.values(s.stores).some((m) => m.cpuRatioRange[1] > 1.2 * m.cpuRatioRange[0]);
  if (spread)
    console.log("note: a CPU ratio moved over 20 % between rounds: something else was using this machine's CPU");
  if (median(rounds.map((r) => r.runs.bare.clientCpuShare)) > 0.9) {
    console.log(
      'note: the load generator used about a full core in the bare runs: bare req/s is a floor, and the throughput ratio flatters nextbest',
    );
  }
}

export function printServerSide(title, h) {
  console.log(
    `server-side, ${title}: decision time (nextbest_decision_duration_seconds, ${int(h.decisions)} decisions) ` +
      `p50 ${us(h.p50)}, p99 ${us(h.p99)}; GC ${int(h.gcSeconds * 1000)} ms in ${int(h.gcCount)} pauses; ` +
      `longest event-loop delay ${h.loopDelayMaxSeconds == null ? 'n/a' : `${int(h.loopDelayMaxSeconds * 1000)} ms`}; ` +
      `degraded answers ${h.degradedShare == null ? 'n/a' : h.degradedShare > 0 ? `!! ${pct(h.degradedShare)} (a store past its deadline: fallback or held-back offers)` : '0'}`,
  );
}

export function printFixedRate(name, f) {
  const range = (pick) => `${ms(Math.min(...f.runs.map(pick)))}–${ms(Math.max(...f.runs.map(pick)))}`;
  console.log(
    `  ${NAMES[name]} at ${int(f.rate)} decisions/s: from the intended send time (coordinated omission corrected), median of rounds p50 ${ms(f.p50)} ms, ` +
      `p99 ${ms(f.p99)} ms (rounds ${range((r) => r.latencyMs.p99)}); uncorrected p99 ${range((r) => r.uncorrectedLatencyMs.p99)} ms; ` +
      `generator lag max ${ms(Math.max(...f.runs.map((r) => r.maxLagMs)))} ms; failed ${f.failed ? `!! ${f.failed}` : 0}`,
  );
  const others = Math.max(...[...f.runs, ...f.bareRuns].map((r) => r.othersCpuShare ?? 0));
  if (others > 0.02)
    console.log(
      `    meanwhile the bench's other processes (idle servers, redis-server) used up to ${pct(others)} of a core`,
    );
  const bare = (pick) => `${ms(Math.min(...f.bareRuns.map(pick)))}–${ms(Math.max(...f.bareRuns.map(pick)))}`;
  console.log(
    `    the bare endpoint at the same rate, in the same rounds (the floor this machine and generator set): ` +
      `p50 ${ms(f.bare.p50)} ms, p99 ${ms(f.bare.p99)} ms (rounds ${bare((r) => r.latencyMs.p99)}); uncorrected p99 ${bare((r) => r.uncorrectedLatencyMs.p99)} ms; ` +
      `generator lag max ${ms(Math.max(...f.bareRuns.map((r) => r.maxLagMs)))} ms`,
  );
  printServerSide(`${NAMES[name]} at the fixed rate`, f.serverSide);
}

export function printFailures(failed, rounds, fixed) {
  if (!failed) return;
  console.error(
    `\n!!!!!!!! ${failed} requests failed (non-2xx, errors or timeouts): these numbers do not measure decisions !!!!!!!!`,
  );
  for (const r of rounds)
    for (const [name, run] of Object.entries(r.runs))
      if (run.failed)
        console.error(
          `  round ${r.round}, ${NAMES[name]}: ${JSON.stringify(run.statusCodes)} errors ${run.errors} timeouts ${run.timeouts}`,
        );
  for (const [name, f] of Object.entries(fixed))
    if (f.failed)
      console.error(
        `  fixed rate, ${NAMES[name]}: ${f.runs.map((r) => JSON.stringify(r.statusCodes)).join(' ')}; ` +
          `the bare endpoint at its rate: ${f.bareRuns.map((r) => JSON.stringify(r.statusCodes)).join(' ')}`,
      );
}

export function printCluster(c, one) {
  console.log(
    `\n${c.workers} workers (node:cluster, one port, not pinned): ${int(c.decisionsPerSec)} decisions/s, ${(c.decisionsPerSec / one.reqPerSec).toFixed(2)}× one process; ` +
      `p50 ${ms(c.latencyMs.p50)} ms, p99 ${ms(c.latencyMs.p99)} ms; CPU ${int(c.serverCpuUsPerRequest)} µs/decision over all workers` +
      (c.failed ? `; !! ${c.failed} failed` : ''),
  );
}

export function printNodes(n, one) {
  console.log(
    `${n.nodes} nodes (processes, not pinned) sharing one Redis: ${int(n.decisionsPerSec)} decisions/s together, ${(n.decisionsPerSec / one.reqPerSec).toFixed(2)}× one node; ` +
      `CPU ${int(n.serverCpuUsPerRequest)} µs/decision in nextbest, ${int(n.redisCpuUsPerDecision)} µs in Redis; p99 ${ms(n.p99)} ms` +
      (n.failed ? `; !! ${n.failed} failed` : ''),
  );
  console.log('  (the load generator and Redis share the two cores with the nodes: the sum is what this box gives)');
}
