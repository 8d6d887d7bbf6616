import { type IncomingMessage, type Server, type ServerOptions, type ServerResponse, STATUS_CODES } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** How long a request may take to arrive, and how long an idle keep-alive connection is kept. */
export interface HttpTimeouts {
  /** the request's headers must have arrived within it (HTTP_HEADERS_TIMEOUT_MS) */
  readonly headersMs: number;
  /** the whole request, body included (HTTP_REQUEST_TIMEOUT_MS) */
  readonly requestMs: number;
  /** an idle keep-alive connection is closed after it (HTTP_KEEP_ALIVE_TIMEOUT_MS) */
  readonly keepAliveMs: number;
}

/**
 * How often Node looks for requests past their time: a timeout fires within this much after
 * it is due (Node's default, 30 s, would let a 10 s limit run to 40 s).
 */
export const TIMEOUT_CHECK_MS = 500;

/** A connection with nothing in progress is closed at shutdown once nothing has arrived on it for this long. */
export const SHUTDOWN_IDLE_MS = 500;

/** Node's server options for these timeouts. */
export function httpServerOptions(t: HttpTimeouts, checkMs = TIMEOUT_CHECK_MS): ServerOptions {
  return {
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: checkMs,
  };
}

/** The `type` prefix of every problem, as api/problem.ts writes it. */
const PROBLEM_TYPE_PREFIX = 'urn:nextbest:problem:';

/** Problems answered on the connection itself, before any request reaches the app. */
export const CONNECTION_PROBLEMS = {
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  bad_request: { status: 400, title: 'The request is not valid HTTP' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  payload_too_large: { status: 413, title: 'The body is too large' },
} as const;
export type ConnectionProblemCode = keyof typeof CONNECTION_PROBLEMS;

/** A complete HTTP/1.1 answer with an application/problem+json body that closes the connection. */
export function problemAnswer(code: ConnectionProblemCode, detail: string): Buffer {
  const { status, title } = CONNECTION_PROBLEMS[code];
  const body = JSON.stringify({ type: `${PROBLEM_TYPE_PREFIX}${code}`, title, status, detail });
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n' +
      `Date: ${new Date().toUTCString()}\r\n\r\n${body}`,
    'latin1',
  );
}

/** What Node's sockets carry beyond their type: the response being written on it, if any. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

export interface GuardHooks {
  /** a connection was answered with a problem (408, 400, 431, 413) before its request reached the app */
  onProblem?: (code: ConnectionProblemCode) => void;
}

export interface CloseOptions {
  /** a connection with no request in progress is closed once nothing has arrived on it for this long */
  readonly idleMs?: number;
  /** requests still arriving this long after the close began are answered 408; unset: their own timeouts */
  readonly arrivalMs?: number;
}

export interface ServerGuard {
  /** From now on every answer, and every answer not yet begun, closes its connection. */
  drain(): void;
  /**
   * Stops listening and closes each connection once it has nothing to do: after its answer
   * (which says `Connection: close`), or once idle for `idleMs`; resolves when none is left.
   */
  close(options?: CloseOptions): Promise<void>;
  /** connections open now */
  readonly connections: number;
}

/** Node's list of the server's connections, the one `closeIdleConnections` reads, where this Node has it. */
type ConnectionList = { idle(): { socket: Socket | null }[] };

function connectionList(server: Server): ConnectionList | undefined {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections');
  const list = key === undefined ? undefined : (server as unknown as Record<symbol, unknown>)[key];
  return typeof (list as ConnectionList | undefined)?.idle === 'function' ? (list as ConnectionList) : undefined;
}

/**
 * Answers what goes wrong on a connection with problem+json, and closes the server without
 * resetting a request. Node's `server.close()` destroys every connection that is idle at that
 * instant, including those whose next request is already on its way (the client gets
 * ECONNRESET); the guard instead stops listening, keeps reading, answers each request with
 * `Connection: close`, and closes a connection only after nothing has arrived on it for a while.
 */
export function guardServer(server: Server, timeouts: HttpTimeouts, hooks: GuardHooks = {}): ServerGuard {
  const sockets = new Set<HttpSocket>();
  server.on('connection', (socket: HttpSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let stopping = false;

  server.on('clientError', (err: NodeJS.ErrnoException, duplex: Duplex) => {
    const socket = duplex as HttpSocket;
    const answer = connectionAnswer(err, socket, timeouts, stopping);
    // an answer only where nothing of a response has been written yet, as Node's own does
    if (answer && socket.writable && !socket._httpMessage?.headersSent) {
      hooks.onProblem?.(answer.code);
      const timer = setTimeout(() => socket.destroy(), 1_000);
      timer.unref();
      socket.end(problemAnswer(answer.code, answer.detail), () => {
        clearTimeout(timer);
        socket.destroy();
      });
    } else {
      socket.destroy();
    }
  });

  let draining = false;
  let closed: Promise<void> | undefined;
  const guard: ServerGuard = {
    get connections() {
      return sockets.size;
    },
    drain() {
      if (draining) return;
      draining = true;
      // set on the server only now, so requests pay nothing until then
      server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
        res.shouldKeepAlive = false;
      });
      for (const socket of sockets) {
        const res = socket._httpMessage;
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
    },
    close({ idleMs = SHUTDOWN_IDLE_MS, arrivalMs } = {}) {
      if (closed) return closed;
      guard.drain();
      stopping = true;
      const list = connectionList(server);
      const quietSince = new Map<HttpSocket, { bytes: number; at: number }>();
      // Node's own timeout checks go on (http's close() would stop them): a request still
      // arriving is answered 408 at its time, or at `arrivalMs`
      const poll = setInterval(
        () => {
          const now = performance.now();
          const idle = list && new Set(list.idle().map((c) => c.socket));
          for (const socket of sockets) {
            // nothing in progress: no answer pending, no request begun (where Node tells)
            const quiet = !socket._httpMessage && (idle === undefined || idle.has(socket));
            const seen = quietSince.get(socket);
            if (!quiet) quietSince.delete(socket);
            else if (seen === undefined || seen.bytes !== socket.bytesRead)
              quietSince.set(socket, { bytes: socket.bytesRead, at: now });
            else if (now - seen.at >= idleMs) socket.destroy();
          }
        },
        Math.max(5, Math.min(50, idleMs / 5)),
      );
      const cut =
        arrivalMs === undefined
          ? undefined
          : setTimeout(() => {
              // every request still arriving is past its time at Node's next check
              server.headersTimeout = 1;
              server.requestTimeout = 1;
            }, arrivalMs);
      closed = new Promise<void>((resolve) => {
        // net's close: stops listening and calls back once every connection has closed, without
        // http's closeIdleConnections() and without stopping the timeout checks
        NetServer.prototype.close.call(server, () => {
          clearInterval(poll);
          if (cut) clearTimeout(cut);
          resolve();
        });
      });
      return closed;
    },
  };
  return guard;
}

/** The answer to a connection's error, or none where the connection is already gone. */
function connectionAnswer(
  err: NodeJS.ErrnoException,
  socket: HttpSocket,
  t: HttpTimeouts,
  stopping: boolean,
): { code: ConnectionProblemCode; detail: string } | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT': {
      // a response object exists once the headers are in: the body is what came too slowly
      const part = socket._httpMessage
        ? `the whole request within ${t.requestMs} ms`
        : `its headers within ${t.headersMs} ms`;
      return {
        code: 'request_timeout',
        detail: stopping
          ? 'the service is stopping and the request had not arrived; send it again'
          : `a request must arrive within the time allowed: ${part}`,
      };
    }
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'headers_too_large', detail: 'the request line and headers are over the size allowed' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'payload_too_large', detail: 'the chunk extensions are over the size allowed' };
    default:
      return { code: 'bad_request', detail: 'the request could not be parsed as HTTP/1.1' };
  }
}
