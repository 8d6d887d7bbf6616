import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { exited, run, startService } from './support/process.js';
import { RawConnection } from './support/raw-http.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HEADERS_MS = 1_000;
const REQUEST_MS = 2_000;
const KEEP_ALIVE_MS = 2_500;
/** Node looks for late requests every 500 ms; the rest is room for a busy machine */
const LATE = 1_500;

const DECISION_HEAD =
  'POST /v1/decisions HTTP/1.1\r\nHost: nextbest\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';

/** Nothing the service wrote is an error, a stack or an unhandled rejection. */
function expectCleanLog(output: string) {
  expect(output).not.toMatch(/"level":(50|60)|\n\s+at |Error|unhandled/i);
}

describe('time limits on requests', () => {
  // small limits, to see them at work; and one service with the defaults, to stop
  let small: Awaited<ReturnType<typeof startService>>;
  let plain: Awaited<ReturnType<typeof startService>>;
  const port = (s: { base: string }) => Number(new URL(s.base).port);
  beforeAll(async () => {
    [small, plain] = await Promise.all([
      startService({
        DEMO_CUSTOMERS: '100',
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
        HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
      }),
      startService({ DEMO_CUSTOMERS: '100' }),
    ]);
  });
  afterAll(async () => {
    for (const child of [small?.child, plain?.child] as (ChildProcess | undefined)[]) {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
  });

  it.concurrent('a body trickled in is answered 408 problem+json once HTTP_REQUEST_TIMEOUT_MS is up', async () => {
    const c = new RawConnection(port(small));
    await c.ready();
    // headers at once, then one byte of the 100 every 500 ms
    c.drip(DECISION_HEAD, '{', 500);
    const sent = performance.now() - c.opened;
    const answer = await c.answer();
    const closed = await c.closed;
    expect(answer?.status).toBe(408);
    expect(answer!.at - sent).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(answer!.at - sent).toBeLessThan(REQUEST_MS + LATE);
    expect(answer!.headers['content-type']).toBe('application/problem+json');
    expect(answer!.headers.connection).toBe('close');
    expect(JSON.parse(answer!.body)).toEqual({
      type: 'urn:nextbest:problem:request_timeout',
      title: 'The request did not arrive in time',
      status: 408,
      detail: `a request must arrive within the time allowed: the whole request within ${REQUEST_MS} ms`,
    });
    // the server closed the connection, cleanly
    expect(closed - answer!.at).toBeLessThan(500);
    expect(c.error).toBeUndefined();
    // the handler that was reading the body let it go quietly, and the service serves on
    await pause(200);
    expect((await fetch(`${small.base}/healthz`)).status).toBe(200);
    expectCleanLog(small.output());
  });

  it.concurrent('a bulk profile import trickled in is answered 408, and its cut-off body logs no error', async () => {
    const c = new RawConnection(port(small));
    await c.ready();
    c.drip(
      'POST /v1/profiles/bulk HTTP/1.1\r\nHost: nextbest\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n',
      '{',
      500,
    );
    const answer = await c.answer();
    await c.closed;
    expect(answer?.status).toBe(408);
    await pause(200);
    expectCleanLog(small.output());
    expect(small.output()).toMatch(/the request body stopped before its end/);
  });

  it.concurrent('headers trickled in are answered 408 once HTTP_HEADERS_TIMEOUT_MS is up', async () => {
    const c = new RawConnection(port(small));
    await c.ready();
    c.drip('POST /v1/decisions HTTP/1.1\r\nHost: nextbest\r\nX-Slow: ', 'a', 300);
    const answer = await c.answer();
    await c.closed;
    expect(answer?.status).toBe(408);
    expect(answer!.at).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(answer!.at).toBeLessThan(HEADERS_MS + LATE);
    expect(answer!.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer!.body).detail).toBe(
      `a request must arrive within the time allowed: its headers within ${HEADERS_MS} ms`,
    );
    expectCleanLog(small.output());
  });

  it.concurrent('an idle keep-alive connection outlives the headers timeout and closes at HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const c = new RawConnection(port(small));
    await c.ready();
    const get = 'GET /healthz HTTP/1.1\r\nHost: nextbest\r\n\r\n';
    c.write(get);
    const first = await c.answer();
    expect(first?.status).toBe(200);
    // the client is told how long it may keep the connection idle
    expect(first!.headers['keep-alive']).toBe(`timeout=${Math.floor(KEEP_ALIVE_MS / 1000)}`);
    // idle well past the headers timeout (and Node's check after it): not a request in progress
    await pause(HEADERS_MS + 800);
    c.write(get);
    const second = await c.answer();
    expect(second?.status).toBe(200);
    // then idle: the server closes it after HTTP_KEEP_ALIVE_TIMEOUT_MS (and Node's second more)
    const closed = await c.closed;
    expect(closed - second!.at).toBeGreaterThanOrEqual(KEEP_ALIVE_MS);
    expect(closed - second!.at).toBeLessThan(KEEP_ALIVE_MS + 1_000 + LATE);
    expect(c.error).toBeUndefined();
  });

  it.concurrent('SIGTERM with a body trickling in: answered 408, exit 0 well within the grace period', async () => {
    // the defaults: keep-alive 65 s, headers 10 s, request 30 s (longer than the grace period)
    const probe = new RawConnection(port(plain));
    probe.write('GET /healthz HTTP/1.1\r\nHost: nextbest\r\n\r\n');
    expect((await probe.answer())!.headers['keep-alive']).toBe('timeout=65');
    probe.close();

    const c = new RawConnection(port(plain));
    await c.ready();
    c.drip(DECISION_HEAD, '{', 500);
    await pause(500);
    const signalled = performance.now();
    plain.child.kill('SIGTERM');
    const answer = await c.answer();
    const answeredAfter = performance.now() - signalled;
    const code = await exited(plain.child);
    const exitedAfter = performance.now() - signalled;
    expect(code, plain.output()).toBe(0);
    expect(answer?.status).toBe(408);
    expect(answer!.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer!.body).detail).toBe(
      'the service is stopping and the request had not arrived; send it again',
    );
    // requests still arriving get 4 s after the stop; the grace period is 10 s
    expect(answeredAfter).toBeGreaterThanOrEqual(4_000 - 50);
    expect(answeredAfter).toBeLessThan(4_000 + LATE);
    expect(exitedAfter).toBeLessThan(4_000 + LATE + 1_000);
    expectCleanLog(plain.output());
  });
});

describe('the time-limit settings', () => {
  it('default to 10 s for headers, 30 s for the request and 65 s for keep-alive', () => {
    const c = loadConfig({});
    expect([c.HTTP_HEADERS_TIMEOUT_MS, c.HTTP_REQUEST_TIMEOUT_MS, c.HTTP_KEEP_ALIVE_TIMEOUT_MS]).toEqual([
      10_000, 30_000, 65_000,
    ]);
  });

  it('refuse limits under a second, and headers allowed longer than the whole request', async () => {
    expect(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '999' })).toThrow(/HTTP_KEEP_ALIVE_TIMEOUT_MS/);
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow(/HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '15000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS: .*at most HTTP_REQUEST_TIMEOUT_MS \(15000\)/,
    );
    // and the service will not start with them
    const { code, stderr } = await run(['dist/main.js'], { HTTP_HEADERS_TIMEOUT_MS: '40000' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/HTTP_HEADERS_TIMEOUT_MS: .*at most HTTP_REQUEST_TIMEOUT_MS \(30000\)/);
  });
});
