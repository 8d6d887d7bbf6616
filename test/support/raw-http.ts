import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** lower-case names */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** ms from the connection's opening to the answer's last byte */
  readonly at: number;
}

/**
 * A bare TCP connection to an HTTP server, for what a client library would not do: send a
 * request a byte at a time, keep a connection idle, see exactly what the server answers and
 * when it closes.
 */
export class RawConnection {
  readonly socket: Socket;
  readonly opened = performance.now();
  private buffer = '';
  private readonly answers: RawAnswer[] = [];
  private waiting: (() => void) | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** resolves with ms from the opening when the server has closed the connection */
  readonly closed: Promise<number>;
  /** the socket's error code, if it had one (ECONNRESET: the server reset the connection) */
  error: string | undefined;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect(port, host);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buffer += d;
      this.parse();
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error = err.code ?? err.message;
    });
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.stopDripping();
        this.waiting?.();
        resolve(performance.now() - this.opened);
      }),
    );
  }

  /** Resolves once connected. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  write(text: string): void {
    if (this.socket.writable) this.socket.write(text);
  }

  /** Writes `text` at once and then `drip` every `everyMs`, until the connection closes. */
  drip(text: string, drip: string, everyMs: number): void {
    this.write(text);
    this.timer = setInterval(() => this.write(drip), everyMs);
  }

  stopDripping(): void {
    clearInterval(this.timer);
  }

  /** The next complete answer, or undefined if the connection closes first. */
  async answer(): Promise<RawAnswer | undefined> {
    while (this.answers.length === 0) {
      if (this.socket.destroyed) return undefined;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.answers.shift();
  }

  close(): void {
    this.stopDripping();
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = this.buffer.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.slice(end + 4, end + 4 + length);
      this.buffer = this.buffer.slice(end + 4 + length);
      this.answers.push({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body,
        at: performance.now() - this.opened,
      });
      this.waiting?.();
    }
  }
}
