// One closed-loop autocannon run against one server, with exact client-side latencies.
import autocannon from 'autocannon';
import { cycling } from './bodies.js';
import { Samples } from './samples.js';

/** Runs `connections` connections for `seconds` against POST url+path, cycling `bodies` from the start. */
export async function load({ url, path, seconds, connections, bodies }) {
  const latencies = new Samples();
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: 'POST', path, headers: { 'content-type': 'application/json' }, setupRequest: cycling(bodies) }],
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.add(ms));
  const r = await instance;
  return {
    reqPerSec: r['2xx'] / r.duration,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, { count }]) => [code, count])),
    latencyMs: latencies.percentiles(),
  };
}

export const failures = (run) => run.non2xx + run.errors + run.timeouts;
