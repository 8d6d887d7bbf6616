// An open-loop load generator: requests leave on a fixed schedule whether or not earlier ones
// have answered, and latency is measured from the *intended* send time (as wrk2 does), so a
// stalled server is charged for the requests it kept waiting (no coordinated omission).
// autocannon's overallRate is not that: each connection sends its per-second quota back to back
// at the start of every second, and its correction uses a 1 ms expected interval whatever the rate.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Samples } from './samples.js';

const TIMEOUT_MS = 10_000; // autocannon's default too

/** Sends `rate` requests/s for `seconds` over at most `connections` sockets. */
export function fixedRate({ url, path, rate, seconds, connections, bodies }) {
  const { hostname, port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const fromIntended = new Samples();
  const fromSent = new Samples();
  const statusCodes = {};
  let sent = 0;
  let finished = 0;
  let errors = 0;
  let maxLagMs = 0;

  return new Promise((resolve) => {
    const start = performance.now() + 20;
    const finish = () => {
      if (++finished < total) return;
      agent.destroy();
      const elapsedSeconds = (performance.now() - start) / 1000;
      const non2xx = Object.entries(statusCodes).reduce(
        (n, [code, count]) => n + (code >= 200 && code < 300 ? 0 : count),
        0,
      );
      resolve({
        rate,
        seconds: elapsedSeconds,
        sent,
        errors,
        statusCodes,
        failed: non2xx + errors,
        maxLagMs,
        latencyMs: fromIntended.percentiles(),
        uncorrectedLatencyMs: fromSent.percentiles(),
      });
    };
    const send = (intended) => {
      const body = bodies[sent % bodies.length];
      const req = http.request({
        agent,
        hostname,
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      });
      let sentAt = 0;
      req.once('socket', () => (sentAt = performance.now())); // after any wait for a free socket
      req.once('response', (res) => {
        statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
        res.resume();
        res.once('end', () => {
          const now = performance.now();
          fromIntended.add(now - intended);
          fromSent.add(now - sentAt);
          finish();
        });
      });
      req.once('error', () => {
        errors++;
        finish();
      });
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        const intended = start + sent * intervalMs;
        maxLagMs = Math.max(maxLagMs, now - intended);
        send(intended);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    setTimeout(tick, 20);
  });
}
