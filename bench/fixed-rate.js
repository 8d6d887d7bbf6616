// An open-loop load generator: requests leave on a fixed schedule whether or not earlier ones
// have answered, and latency is measured from the *intended* send time (as wrk2 does), so a
// stalled server is charged for the requests it kept waiting (no coordinated omission).
// autocannon's overallRate is not that: each connection sends its per-second quota back to back
// at the start of every second, and its correction uses a 1 ms expected interval whatever the rate.
//
// The generator runs in a child process of its own (bench/fixed-rate-child.js) on the load
// generator's cores, with pre-encoded requests on plain sockets: its own pauses (this process's
// collections, node's HTTP client) would otherwise be charged to the server. A second at the
// rate goes first, unmeasured, unless `warmupSeconds` says otherwise (a run timed against an
// event, as bench/outbound.js's, sets 0).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pin } from './servers.js';

const CHILD = fileURLToPath(new URL('./fixed-rate-child.js', import.meta.url));

/**
 * Sends `rate` requests/s for `seconds` over at most `connections` sockets, after `warmupSeconds`
 * at the rate that are not measured; resolves with what it measured.
 */
export function fixedRate({ url, path, rate, seconds, connections, bodies, warmupSeconds = 1 }) {
  const child = fork(CHILD, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  pin(child.pid, 'generator');
  return new Promise((resolve, reject) => {
    child.once('message', (result) => {
      child.disconnect();
      resolve(result);
    });
    child.once('exit', (code) => reject(new Error(`the fixed-rate generator exited with code ${code}`)));
    child.send({ url, path, rate, seconds, connections, bodies: bodies.map(String), warmupSeconds });
  });
}
