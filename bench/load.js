// One closed-loop autocannon run against one server, with exact client-side latencies.
import autocannon from 'autocannon';
import { cpuSeconds } from './cpu.js';
import { Samples } from './samples.js';

/**
 * Runs `connections` connections for `seconds` against POST url+path with `bodies`; `pid` is the
 * server's, to charge it the CPU it spent per answered request.
 */
export async function load({ url, path, seconds, connections, bodies, pid }) {
  // each connection cycles its own slice of the pool: fixed requests, so autocannon encodes them once
  const request = (body) => ({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
  const perSlice = Math.ceil(bodies.length / connections);
  const slices = Array.from({ length: connections }, (_, k) =>
    bodies.slice(k * perSlice, (k + 1) * perSlice).map(request),
  );
  let nextSlice = 0;
  const latencies = new Samples();
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    requests: [request(bodies[0])],
    setupClient: (client) => client.setRequests(slices[nextSlice++ % connections]),
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.add(ms));
  const serverBefore = cpuSeconds(pid);
  const clientBefore = process.cpuUsage();
  const r = await instance;
  const serverCpu = serverBefore === null ? null : cpuSeconds(pid) - serverBefore;
  const client = process.cpuUsage(clientBefore);
  return {
    reqPerSec: r['2xx'] / r.duration,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, { count }]) => [code, count])),
    failed: r.non2xx + r.errors + r.timeouts,
    latencyMs: latencies.percentiles(),
    serverCpuUsPerRequest: serverCpu === null ? null : (serverCpu * 1e6) / r['2xx'],
    clientCpuShare: (client.user + client.system) / 1e6 / r.duration, // near 1: the generator, not the server, set the pace
  };
}
