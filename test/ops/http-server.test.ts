import { createServer, type RequestListener, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX } from '../../src/api/problem.js';
import {
  type ConnectionProblemCode,
  guardServer,
  httpServerOptions,
  problemAnswer,
  type ServerGuard,
} from '../../src/ops/http-server.js';
import { RawConnection } from '../support/raw-http.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TIMEOUTS = { headersMs: 1_000, requestMs: 2_000, keepAliveMs: 10_000 };
const GET = 'GET / HTTP/1.1\r\nHost: nextbest\r\n\r\n';
const ok: RequestListener = (_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('ok');
};

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A real server on a free port, guarded, its timeouts checked every 100 ms. */
async function start(handler: RequestListener = ok) {
  const problems: ConnectionProblemCode[] = [];
  server = createServer(httpServerOptions(TIMEOUTS, 100), handler);
  const guard: ServerGuard = guardServer(server, TIMEOUTS, { onProblem: (code) => problems.push(code) });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { guard, port, problems };
}

/** Whether a new connection is refused. */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });

describe('problems on the connection', () => {
  it('are complete HTTP/1.1 answers shaped like the API’s problems, closing the connection', () => {
    const text = problemAnswer('request_timeout', 'too slow').toString('latin1');
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(head).toContain(`\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n`);
    expect(head).toContain('\r\nConnection: close\r\n');
    expect(head).toContain(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`);
    expect(JSON.parse(body)).toEqual({
      type: `${PROBLEM_TYPE_PREFIX}request_timeout`,
      title: 'The request did not arrive in time',
      status: 408,
      detail: 'too slow',
    });
  });

  it('answer what is not HTTP with 400 and headers over the limit with 431, as problem+json; the server serves on', async () => {
    const { port, problems } = await start();
    const garbage = new RawConnection(port);
    garbage.write('HELLO THERE\r\n\r\n');
    const bad = await garbage.answer();
    expect(bad?.status).toBe(400);
    expect(bad!.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(JSON.parse(bad!.body).type).toBe(`${PROBLEM_TYPE_PREFIX}bad_request`);
    await garbage.closed;

    const big = new RawConnection(port);
    big.write(`GET / HTTP/1.1\r\nHost: nextbest\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const large = await big.answer();
    expect(large?.status).toBe(431);
    expect(JSON.parse(large!.body).type).toBe(`${PROBLEM_TYPE_PREFIX}headers_too_large`);
    await big.closed;

    const fine = new RawConnection(port);
    fine.write(GET);
    expect((await fine.answer())?.status).toBe(200);
    fine.close();
    expect(problems).toEqual(['bad_request', 'headers_too_large']);
  });
});

describe('the close', () => {
  it('keeps an idle connection open for idleMs: a request sent meanwhile is answered with Connection: close; the quiet one is closed then', async () => {
    const { guard, port } = await start();
    const busy = new RawConnection(port);
    const quiet = new RawConnection(port);
    busy.write(GET);
    quiet.write(GET);
    expect((await busy.answer())?.headers.connection).toBe('keep-alive');
    expect((await quiet.answer())?.headers.connection).toBe('keep-alive');

    const began = performance.now();
    const closed = guard.close({ idleMs: 300 });
    expect(await refused(port)).toBe(true);
    // the next request on a kept connection, on its way as the close began
    await pause(100);
    busy.write(GET);
    const last = await busy.answer();
    expect(last?.status).toBe(200);
    expect(last!.headers.connection).toBe('close');
    await busy.closed;
    // nothing arrived on the other one: closed once quiet for 300 ms
    await quiet.closed;
    const quietFor = performance.now() - began;
    expect(quietFor).toBeGreaterThanOrEqual(300);
    expect(quietFor).toBeLessThan(800);
    await closed;
    await pause(10);
    expect(guard.connections).toBe(0);
    expect([busy.error, quiet.error]).toEqual([undefined, undefined]);
  });

  it('lets a request being handled finish, with Connection: close, and answers a request still arriving 408 at arrivalMs, not as idle', async () => {
    const { guard, port, problems } = await start(async (req, res) => {
      if (req.url === '/slow') await pause(600);
      ok(req, res);
    });
    const handled = new RawConnection(port);
    handled.write('GET /slow HTTP/1.1\r\nHost: nextbest\r\n\r\n');
    const arriving = new RawConnection(port);
    arriving.write('GET / HTTP/1.1\r\nHost: nextb');
    await pause(100);

    const began = performance.now();
    const closed = guard.close({ idleMs: 200, arrivalMs: 800 });
    const answer = await handled.answer();
    expect(answer?.status).toBe(200);
    expect(answer!.body).toBe('ok');
    expect(answer!.headers.connection).toBe('close');

    const late = await arriving.answer();
    const lateAfter = performance.now() - began;
    expect(late?.status).toBe(408);
    expect(JSON.parse(late!.body).detail).toBe(
      'the service is stopping and the request had not arrived; send it again',
    );
    expect(lateAfter).toBeGreaterThanOrEqual(800);
    expect(lateAfter).toBeLessThan(1_300);
    await closed;
    expect(problems).toEqual(['request_timeout']);
    expect([handled.error, arriving.error]).toEqual([undefined, undefined]);
  });
});
