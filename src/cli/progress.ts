/**
 * Progress of long work, drawn with cli-progress on stderr when stderr is a terminal; nothing at
 * all when it is a pipe, a file or a test's buffer (so logs and captured output stay clean). Work
 * is counted in bytes of the input file where the input is one (read as a stream), else in items.
 */
import cliProgress from 'cli-progress';
import { bytes, num } from './format.js';
import { type Io, isTerminal } from './io.js';

export type Unit = 'bytes' | 'items';

export interface Progress {
  /**
   * A new step, replacing the last: what is being done, how much of it there is (undefined: not
   * known) and what it is counted in (undefined: not counted, only timed).
   */
  step(label: string, total?: number, unit?: Unit): void;
  /** So much more of the step done. */
  add(n: number): void;
  /** The chunks of a stream read by iterating it, each counted in bytes as it passes. */
  bytesOf<T extends string | Buffer>(input: AsyncIterable<T>): AsyncIterable<T>;
  /** Counts the bytes of a stream another reader consumes in flowing mode (readline); call before that reader starts. */
  watch(input: NodeJS.ReadableStream): void;
  /** A line for stderr while the work goes on (a bad line passed over): written above the bar. */
  say(line: string): void;
  /** The bar cleared: call before writing the summary or the report. */
  done(): void;
}

const sizeOf = (chunk: string | Buffer): number =>
  typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;

/** Whether progress is drawn: stderr is a terminal (and TERM is not dumb). */
export const showsProgress = (stderr: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean =>
  isTerminal(stderr, env);

const silent = (stderr: NodeJS.WritableStream): Progress => ({
  step() {},
  add() {},
  bytesOf: (input) => input,
  watch() {},
  say: (line) => void stderr.write(`${line}\n`),
  done() {},
});

/** The progress of a command: a bar on a terminal, silent otherwise. */
export function progress(io: Io, env: NodeJS.ProcessEnv = process.env): Progress {
  return showsProgress(io.stderr, env) ? new Bar(io.stderr) : silent(io.stderr);
}

/** Redraws at most this often; counting in between is only an addition. */
const REDRAW_MS = 100;

class Bar implements Progress {
  private bar: cliProgress.SingleBar | undefined;
  private value = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  step(label: string, total?: number, unit?: Unit): void {
    this.done();
    this.value = 0;
    const show = unit === 'bytes' ? bytes : (n: number) => num(n);
    const known = unit !== undefined && total !== undefined && total > 0;
    const bar = new cliProgress.SingleBar({
      stream: this.stream,
      format: known
        ? `${label} {bar} {percentage}% | {value} of {total} | eta {eta_formatted}`
        : unit !== undefined
          ? `${label} | {value} | {duration_formatted}`
          : `${label} | {duration_formatted}`,
      formatValue: (v, options, type) =>
        type === 'value' || type === 'total' ? show(Number(v)) : cliProgress.Format.ValueFormat(v, options, type),
      barsize: 20,
      etaBuffer: 30,
      clearOnComplete: true,
      // the terminal is left as it was: Ctrl-C stops the command as usual, no cursor or wrapping to restore
      hideCursor: false,
      linewrap: true,
    });
    bar.start(known ? total : 0, 0);
    this.bar = bar;
    this.timer = setInterval(() => bar.update(this.value), REDRAW_MS);
    this.timer.unref();
  }

  add(n: number): void {
    this.value += n;
  }

  async *bytesOf<T extends string | Buffer>(input: AsyncIterable<T>): AsyncIterable<T> {
    for await (const chunk of input) {
      this.value += sizeOf(chunk);
      yield chunk;
    }
  }

  watch(input: NodeJS.ReadableStream): void {
    input.on('data', (chunk: string | Buffer) => {
      this.value += sizeOf(chunk);
    });
  }

  say(line: string): void {
    // the bar's line cleared and the text written over it; the bar redraws below at its next change
    this.stream.write(this.bar ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bar) {
      this.bar.update(this.value);
      this.bar.stop();
    }
    this.bar = undefined;
  }
}
