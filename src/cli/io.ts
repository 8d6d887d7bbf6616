import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A mistake in how a command was called: its message and the usage, exit 2. */
export class UsageError extends Error {}

/** node:util parseArgs, strict, with its complaints as usage errors naming the command. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
}

/**
 * A command's entry: `run`, with its usage. A UsageError it throws (while parsing its options or
 * later) is written with the usage and exits 2.
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
