// The open-loop generator of bench/fixed-rate.js, in a process of its own: it gets
// {url, path, rate, seconds, connections, bodies} and answers what it measured.
//
// Each request is encoded once, up front; a socket carries one request at a time (HTTP/1.1
// keep-alive, no pipelining) and reads its answer by Content-Length. A request whose time has
// come while every socket is busy waits for the first free one, and that wait is part of its
// latency. An answer without Content-Length, or a socket closed mid-request, counts as an error.
// `warmupSeconds` at the rate go first, unmeasured.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Samples } from './samples.js';

const TIMEOUT_MS = 10_000; // autocannon's default too
const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

function run({ url, path, rate, seconds, connections, bodies }) {
  const { hostname, port } = new URL(url);
  const requests = bodies.map((body) =>
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    ),
  );
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const fromIntended = new Samples();
  const fromSent = new Samples();
  const statusCodes = {};
  const idle = [];
  /** intended send times of requests waiting for a free socket, oldest first */
  const waiting = [];
  let open = 0;
  let sent = 0;
  let finished = 0;
  let errors = 0;
  let maxLagMs = 0;
  let done;
  let ended = false;
  const sockets = new Set();

  const finish = () => {
    if (++finished < total) return;
    done();
  };

  /** A keep-alive connection; `first` is the intended time of the request it opens with. */
  function connect(first) {
    open++;
    const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
    sockets.add(socket);
    // the first request is this socket's from the start: a connection that fails counts it as an error
    let intended = first;
    let sentAt = 0;
    let busy = true;
    let chunks = [];
    let received = 0;
    let need = -1; // bytes of the whole answer, once its head is read
    let status = 0;
    let timer;

    const send = (at) => {
      intended = at;
      busy = true;
      chunks = [];
      received = 0;
      need = -1;
      sentAt = performance.now();
      socket.write(requests[sent++ % requests.length]);
      timer = setTimeout(() => socket.destroy(new Error('timeout')), TIMEOUT_MS);
    };
    const next = () => {
      if (finished >= total) {
        socket.destroy();
        return;
      }
      const at = waiting.shift();
      if (at !== undefined) send(at);
      else idle.push(socket);
    };
    socket.sendAt = send;
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (need < 0) {
        const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
        const end = head.indexOf(HEADER_END);
        if (end < 0) return;
        const text = head.latin1Slice(0, end);
        const length = CONTENT_LENGTH.exec(text);
        if (!length) {
          socket.destroy(new Error('an answer without content-length'));
          return;
        }
        status = Number(text.slice(9, 12));
        need = end + HEADER_END.length + Number(length[1]);
      }
      if (received < need) return;
      if (received > need) {
        socket.destroy(new Error('more bytes than the answer declared'));
        return;
      }
      clearTimeout(timer);
      busy = false;
      const now = performance.now();
      fromIntended.add(now - intended);
      fromSent.add(now - sentAt);
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      finish();
      next();
    });
    socket.once('connect', () => send(first));
    socket.on('error', () => {});
    socket.once('close', () => {
      open--;
      sockets.delete(socket);
      clearTimeout(timer);
      const at = idle.indexOf(socket);
      if (at >= 0) idle.splice(at, 1);
      if (ended) return;
      if (busy) {
        errors++;
        finish();
      }
      // requests waiting for a socket get a new one, else they would wait for ever
      if (waiting.length > 0 && open < connections) connect(waiting.shift());
    });
    return socket;
  }

  const dispatch = (at) => {
    const socket = idle.pop();
    if (socket) socket.sendAt(at);
    else if (open < connections) connect(at);
    else waiting.push(at);
  };

  return new Promise((resolve) => {
    const start = performance.now() + 20;
    let scheduled = 0;
    // whatever happens to the sockets, the run ends: what has not answered by then is an error
    const deadline = setTimeout(
      () => {
        errors += total - finished;
        finished = total;
        done();
      },
      seconds * 1000 + 2 * TIMEOUT_MS,
    );
    done = () => {
      if (ended) return;
      ended = true;
      clearTimeout(deadline);
      for (const socket of sockets) socket.destroy();
      const elapsedSeconds = (performance.now() - start) / 1000;
      const non2xx = Object.entries(statusCodes).reduce(
        (n, [code, count]) => n + (code >= 200 && code < 300 ? 0 : count),
        0,
      );
      resolve({
        rate,
        seconds: elapsedSeconds,
        sent: scheduled,
        errors,
        statusCodes,
        failed: non2xx + errors,
        maxLagMs,
        latencyMs: fromIntended.percentiles(),
        uncorrectedLatencyMs: fromSent.percentiles(),
      });
    };
    const tick = () => {
      if (ended) return;
      const now = performance.now();
      while (scheduled < total && start + scheduled * intervalMs <= now) {
        const intended = start + scheduled * intervalMs;
        maxLagMs = Math.max(maxLagMs, now - intended);
        scheduled++;
        dispatch(intended);
      }
      if (scheduled < total) setTimeout(tick, Math.max(0, start + scheduled * intervalMs - performance.now()));
    };
    setTimeout(tick, 20);
  });
}

process.once('message', async ({ warmupSeconds, ...job }) => {
  // unmeasured, at the rate: this process's code is compiled before it is timed
  if (warmupSeconds > 0) await run({ ...job, seconds: Math.min(warmupSeconds, job.seconds) });
  process.send(await run(job));
});
process.on('disconnect', () => process.exit(0));
