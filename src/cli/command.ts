/**
 * A command's table: its arguments and options, each with its meaning and default, and an example.
 * The same object drives node:util's parseArgs (`flags`) and the `--help` text (`helpText`), so an
 * option cannot be accepted without being documented, nor documented without being accepted.
 * `nextbest --help` lists the commands from main.ts's table of them.
 */
import { parseArgs } from 'node:util';
import { type Io, parseArgsMessage, UsageError } from './io.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** may be given more than once: the values come as a list */
  readonly multiple?: boolean;
  /** the value's placeholder in the usage and the help: FILE, DATE, N */
  readonly value?: string;
  /** must be given, and not empty */
  readonly required?: boolean;
  /** the default, as the help states it */
  readonly default?: string;
  /** what it does, in a line or two */
  readonly help: string;
}

export interface ArgumentSpec {
  /** its placeholder: FILE, DIR */
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
  readonly default?: string;
}

export interface CommandSpec {
  /** as typed after `nextbest`: 'portfolio', 'profiles build' */
  readonly name: string;
  /** one line, for `nextbest --help` */
  readonly summary: string;
  /** what it does, for its --help (the summary when absent) */
  readonly description?: string;
  /** its forms after `nextbest`, when the one made from the table would not say it (modes, either-or) */
  readonly forms?: readonly string[];
  /** positional arguments, in order; none accepted when absent */
  readonly arguments?: readonly ArgumentSpec[];
  readonly options: { readonly [name: string]: OptionSpec };
  /** command lines after `nextbest`, the first one the most common */
  readonly examples: readonly string[];
}

/** A command: what `nextbest <name>` runs, with its table. */
export interface Command {
  (args: string[], io: Io): Promise<number>;
  readonly spec: CommandSpec;
}

type Value<O> = O extends { readonly type: 'boolean' } ? boolean : string;
type Values<S extends CommandSpec> = {
  -readonly [K in keyof S['options']]: S['options'][K] extends { readonly multiple: true }
    ? Value<S['options'][K]>[] | undefined
    : S['options'][K] extends { readonly required: true }
      ? Value<S['options'][K]>
      : Value<S['options'][K]> | undefined;
};

/** The options and arguments of `args` by the command's table: parseArgs, strict; required options checked. */
export function flags<const S extends CommandSpec>(
  spec: S,
  args: string[],
): { values: Values<S>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(spec.options))
    options[name] = o.multiple ? { type: o.type, multiple: true } : { type: o.type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: spec.arguments !== undefined });
  } catch (err) {
    throw new UsageError(parseArgsMessage(spec.name, err));
  }
  for (const [name, o] of Object.entries(spec.options)) {
    const v = parsed.values[name];
    if (o.required && (v === undefined || v === ''))
      throw new UsageError(`${spec.name}: --${name}${o.value ? ` ${o.value}` : ''} is required`);
  }
  return { values: parsed.values as Values<S>, positionals: parsed.positionals };
}

/** `--help` or `-h` before any `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

const optionUsage = (name: string, o: OptionSpec): string =>
  `--${name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' ...' : ''}`;

/** The command's forms, each as typed: `nextbest portfolio --transactions FILE [--as-of DATE] …`. */
export function forms(spec: CommandSpec): string[] {
  if (spec.forms) return spec.forms.map((f) => `nextbest ${f}`);
  const options = Object.entries(spec.options);
  return [
    [
      `nextbest ${spec.name}`,
      ...(spec.arguments ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name)),
      ...options.filter(([, o]) => o.required).map(([n, o]) => optionUsage(n, o)),
      ...options.filter(([, o]) => !o.required).map(([n, o]) => `[${optionUsage(n, o)}]`),
    ].join(' '),
  ];
}

/** The usage lines written with a usage error. */
export function usageText(spec: CommandSpec): string {
  return forms(spec)
    .map((f, i) => `${i === 0 ? 'usage: ' : '       '}${f}`)
    .join('\n');
}

const WIDTH = 100;

/** Words wrapped to `width` columns, lines after the first indented by `indent`. */
export function wrap(text: string, indent: number, width = WIDTH): string {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line !== '' && indent + line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** Two columns: the label, and its text wrapped beside it. */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const column = Math.min(26, Math.max(...rows.map(([label]) => label.length)) + 2);
  return rows.map(([label, text]) =>
    label.length + 2 > column
      ? `  ${label}\n${' '.repeat(column + 2)}${wrap(text, column + 2)}`
      : `  ${label.padEnd(column)}${wrap(text, column + 2)}`,
  );
}

const withDefault = (help: string, o: { required?: boolean; default?: string }): string =>
  `${help}${o.required ? ' (required)' : ''}${o.default !== undefined ? ` (default: ${o.default})` : ''}`;

/** `nextbest <command> --help`: the forms, what it does, every argument and option with its default, examples. */
export function helpText(spec: CommandSpec): string {
  const args = spec.arguments ?? [];
  const examples = spec.examples.map((e) => `  nextbest ${e}`);
  return [
    usageText(spec),
    '',
    wrap(spec.description ?? spec.summary, 0),
    ...(args.length > 0
      ? ['', 'arguments:', ...table(args.map((a) => [a.name, withDefault(a.help, a)] as const))]
      : []),
    '',
    'options:',
    ...table([
      ...Object.entries(spec.options).map(([name, o]) => [optionUsage(name, o), withDefault(o.help, o)] as const),
      ['-h, --help', 'show this help'] as const,
    ]),
    '',
    examples.length === 1 ? 'example:' : 'examples:',
    ...examples,
    '',
  ].join('\n');
}

/**
 * A command from its table and what it runs: `--help` (or `-h`) prints the help on stdout, exit 0;
 * a UsageError is written with the usage and a pointer to --help, exit 2.
 */
export function command(spec: CommandSpec, run: (args: string[], io: Io) => Promise<number>): Command {
  const entry = async (args: string[], io: Io): Promise<number> => {
    if (wantsHelp(args)) {
      io.stdout.write(helpText(spec));
      return 0;
    }
    try {
      return await run(args, io);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.stderr.write(`${err.message}\n${usageText(spec)}\n${helpPointer(spec.name)}\n`);
      return 2;
    }
  };
  return Object.assign(entry, { spec });
}

/** The line that sends a person from an error to the help. */
export const helpPointer = (name: string): string =>
  `nextbest ${name} --help: every option, its default and an example`;
