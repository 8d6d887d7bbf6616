/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A mistake in how a command was called: its message and the usage, exit 2. */
export class UsageError extends Error {}

/**
 * node:util parseArgs's complaint, for a person: an unknown option names itself and points at
 * `--help`; the others keep parseArgs's words.
 */
export function parseArgsMessage(command: string, err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `${command}: unknown option ${option}; nextbest ${command} --help lists the options`;
  }
  return `${command}: ${message}`;
}

/**
 * A command's entry: `run`, with its usage. A UsageError it throws (while parsing its options or
 * later) is written with the usage and exits 2. (The commands with a table use command.ts: `command`.)
 */
export function withUsage(
  usage: string,
  run: (args: string[], io: Io) => Promise<number>,
): (args: string[], io: Io) => Promise<number> {
  return async (args, io) => {
    try {
      return await run(args, io);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.stderr.write(`${err.message}\n${usage.trimEnd()}\n`);
      return 2;
    }
  };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A `--flag` that takes a UTC day (YYYY-MM-DD): the day, or undefined when not given; a usage error otherwise. */
export function dayFlag(command: string, flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!DAY.test(raw) || Number.isNaN(Date.parse(raw)))
    throw new UsageError(`${command}: --${flag} wants a date YYYY-MM-DD, got "${raw}"`);
  return raw;
}

/** Whether a stream is a terminal a person watches (not a pipe, a file or a test's buffer). */
export function isTerminal(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true && env.TERM !== 'dumb';
}

/**
 * A command's summary line ("wrote 10,000 profiles to customers.ndjson in 0.8 s"), for a person: on
 * stderr, so stdout keeps to the data. When the data itself went to stdout, only on a terminal: a
 * pipeline's or a script's stderr keeps to warnings and errors, and the reader of the data counts it.
 */
export function writeSummary(io: Io, line: string, dataOnStdout: boolean): void {
  if (dataOnStdout && !isTerminal(io.stderr)) return;
  io.stderr.write(`${line}\n`);
}
