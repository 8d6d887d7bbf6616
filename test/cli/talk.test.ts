import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forms, helpText } from '../../src/cli/command.js';
import { staleAsOf } from '../../src/cli/input.js';
import { COMMANDS, runCli } from '../../src/cli/main.js';
import { progress, showsProgress } from '../../src/cli/progress.js';
import { fileName } from '../../src/decision-log/file.js';
import { formatDay } from '../../src/offline/analytics/timestamps.js';
import { run } from '../support/process.js';

// The command line as a person meets it: --help from each command's table, progress only on a
// terminal, a summary on success, numbers grouped, bad lines by number, a warning for a stale --as-of.
// In-process for the commands' own behaviour, through the built binary (dist/) for what a pipe sees.

const DAY = 86_400_000;
const cli = (...args: string[]) => run(['bin/nextbest.js', ...args]);
/** A number of 1,000 or more as text output writes it. */
const GROUPED = String.raw`\d{1,3}(?:,\d{3})+`;

/** A stream that keeps what is written; `tty` makes it pass for a terminal. */
function sink(tty = false): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  if (tty) Object.assign(stream, { isTTY: true, columns: 100 });
  return { stream, text: () => chunks.join('') };
}

async function inProcess(args: string[], tty = false) {
  const out = sink();
  const err = sink(tty);
  const code = await runCli(args, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('--help, from the table each command parses with', () => {
  it.each(COMMANDS.map((c) => [c.spec.name, c] as const))('nextbest %s --help', async (name, c) => {
    for (const flag of ['--help', '-h']) {
      const r = await inProcess([...name.split(' '), flag]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(helpText(c.spec));
      expect(r.stdout).toMatch(new RegExp(`^usage: nextbest ${name}`));
      expect(r.stdout).toMatch(/\nexamples?:\n {2}nextbest /);
      // every option of the table, with its meaning and its default; every argument
      const lines = r.stdout.split('\n');
      for (const [option, o] of Object.entries(c.spec.options)) {
        const at = lines.findIndex((l) => l.startsWith(`  --${option}${o.value ? ` ${o.value}` : ''}`));
        expect(at, `--${option}`).toBeGreaterThan(0);
        // the text beside it and on its continuation lines
        let text = lines[at]!.slice(2 + option.length + 2);
        for (let i = at + 1; lines[i]?.startsWith('    '); i++) text += ` ${lines[i]!.trim()}`;
        const said = text.replace(/\s+/g, ' ');
        expect(said, `--${option}`).toContain(o.help.split(' ').slice(0, 4).join(' '));
        if (o.default !== undefined) expect(said, `--${option}`).toContain(`(default: ${o.default})`);
        // the usage names it too
        expect(forms(c.spec).join('\n'), `--${option} in the usage`).toContain(`--${option}`);
      }
      for (const a of c.spec.arguments ?? [])
        expect(r.stdout).toMatch(new RegExp(`\n {2}${a.name.replace('|', '\\|')} `));
      expect(r.stdout).toContain('-h, --help');
    }
  });

  it('answers --help even where the rest of the line is wrong', async () => {
    const r = await inProcess(['profiles', 'build', '--nope', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: nextbest profiles build --transactions FILE --out FILE /);
  });

  it('every option the help lists is one the command accepts', async () => {
    // parseArgs stops at the first unknown option: when it is the sentinel after the option, the
    // option was taken (and the command stopped at parsing, before any work)
    for (const c of COMMANDS)
      for (const [option, o] of Object.entries(c.spec.options)) {
        const given = `--${option}${o.type === 'string' ? '=x' : ''}`;
        const r = await inProcess([...c.spec.name.split(' '), given, '--zzz-unknown']);
        expect(r.code, `${c.spec.name} ${given}`).toBe(2);
        expect(r.stderr, `${c.spec.name} ${given}`).toMatch(
          /^\S+( \S+)?: unknown option --zzz-unknown|'--zzz-unknown'/,
        );
      }
  });

  it('nextbest --help lists every command with a line, and points at <command> --help', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) {
      expect(r.stdout).toContain(`nextbest ${c.spec.name}`);
      expect(r.stdout).toContain(c.spec.summary.split(' ').slice(0, 5).join(' '));
    }
    expect(r.stdout).toContain('nextbest <command> --help');
    expect((await cli('help')).stdout).toBe(r.stdout);
    expect((await cli('help', 'portfolio')).stdout).toMatch(/^usage: nextbest portfolio /);
  });

  it('a group lists its subcommands', async () => {
    for (const [group, subs] of [
      ['profiles', ['build', 'import']],
      ['rules', ['validate', 'schemas', 'diff']],
      ['decisions', ['export']],
    ] as const) {
      const r = await cli(group, '--help');
      expect(r.code).toBe(0);
      for (const s of subs) expect(r.stdout).toContain(`nextbest ${group} ${s}`);
      const none = await cli(group);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(new RegExp(`^${group}: name a subcommand\nusage: nextbest ${group} <`));
    }
  });

  it('an unknown option is named, with the usage and a pointer to --help, exit 2', async () => {
    const r = await cli('profiles', 'build', '--transactions', 'x', '--out', 'y', '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'profiles build: unknown option --frobnicate; nextbest profiles build --help lists the options\n' +
        'usage: nextbest profiles build --transactions FILE --out FILE [--as-of DATE] [--new-days N] [--lapsed-days N] [--at-risk X] [--consents LIST] [--strict] [--json]\n' +
        'nextbest profiles build --help: every option, its default and an example\n',
    );
  });
});

describe('progress', () => {
  it('is drawn only when stderr is a terminal', () => {
    expect(showsProgress(sink(true).stream, {})).toBe(true);
    expect(showsProgress(sink().stream, {})).toBe(false);
    expect(showsProgress(sink(true).stream, { TERM: 'dumb' })).toBe(false);
    expect(showsProgress(process.stderr)).toBe(process.stderr.isTTY === true && process.env.TERM !== 'dumb');
  });

  it('writes nothing to a pipe, and draws and clears a bar on a terminal', async () => {
    for (const tty of [false, true]) {
      const err = sink(tty);
      const p = progress({ stdout: sink().stream, stderr: err.stream }, {});
      p.step('reading x.ndjson', 2_000_000, 'bytes');
      const counted: Buffer[] = [];
      for await (const chunk of p.bytesOf(
        (async function* () {
          yield Buffer.alloc(1_500_000);
          yield Buffer.alloc(500_000);
        })(),
      ))
        counted.push(chunk);
      expect(counted.map((c) => c.length)).toEqual([1_500_000, 500_000]);
      p.done();
      if (!tty) expect(err.text()).toBe('');
      else {
        expect(err.text()).toContain('reading x.ndjson');
        expect(err.text()).toContain('2.0 MB of 2.0 MB');
        expect(err.text().endsWith('\u001b[2K')).toBe(true); // the line cleared for what follows
      }
    }
  });
});

describe('what the commands say', () => {
  let dir: string;
  let transactions: string;
  const AS_OF = '2026-03-01';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-talk-'));
    transactions = join(dir, 'transactions.ndjson');
    const r = await cli(
      'demo-data',
      '--transactions',
      '--customers',
      '1500',
      '--seed',
      '5',
      '--as-of',
      AS_OF,
      '--out',
      transactions,
    );
    expect(r.code, r.stderr).toBe(0);
    // through a pipe: the summary line and nothing else (no progress)
    expect(r.stderr).toMatch(
      new RegExp(
        `^wrote ${GROUPED} transactions of ${GROUPED} customers up to ${AS_OF} to ${transactions} in [\\d.]+ s\\n$`,
      ),
    );
    expect(r.stdout).toBe('');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('demo-data says what it wrote: always for a file, on a terminal only when the data is on stdout', async () => {
    const file = join(dir, 'customers.ndjson');
    const toFile = await inProcess(['demo-data', '--customers', '1200', '--out', file]);
    expect(toFile).toMatchObject({ code: 0, stdout: '' });
    expect(toFile.stderr).toMatch(new RegExp(`^wrote 1,200 profiles to ${file} in [\\d.]+ s\\n$`));
    const piped = await inProcess(['demo-data', '--customers', '1200']);
    expect(piped.stdout.split('\n')).toHaveLength(1201);
    expect(piped.stderr).toBe('');
    const watched = await inProcess(['demo-data', '--customers', '1200'], true);
    expect(watched.stdout).toBe(piped.stdout);
    expect(watched.stderr).toMatch(/generating profiles/); // the progress
    expect(watched.stderr).toMatch(/wrote 1,200 profiles to stdout in [\d.]+ s\n$/);
  });

  it('decisions export: the data on stdout, its summary on a terminal only', async () => {
    const logDir = join(dir, 'log');
    await mkdir(logDir);
    const record = (id: string) => JSON.stringify({ decisionId: id, at: `${AS_OF}T10:00:00.000Z`, customerId: 'a' });
    await writeFile(join(logDir, fileName(AS_OF, 0)), `${record('d1')}\n${record('d2')}\n`);
    const piped = await inProcess(['decisions', 'export', '--dir', logDir]);
    expect(piped).toMatchObject({ code: 0, stderr: '' });
    expect(piped.stdout.trim().split('\n')).toHaveLength(2);
    const watched = await inProcess(['decisions', 'export', '--dir', logDir], true);
    expect(watched.stdout).toBe(piped.stdout);
    expect(watched.stderr).toMatch(new RegExp(`exported 2 decisions from ${logDir} in [\\d.]+ s\n$`));
  });

  it('profiles build: the summary first, counts grouped; silent progress through a pipe', async () => {
    const out = join(dir, 'profiles.ndjson');
    const r = await cli('profiles', 'build', '--transactions', transactions, '--as-of', AS_OF, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(`^wrote ${GROUPED} profiles as of ${AS_OF} from ${GROUPED} transactions to ${out} in [\\d.]+ s\\n`),
    );
    // the phase × segment table: the "all" column of a phase with over 999 customers is grouped
    expect(r.stdout).toMatch(new RegExp(`^ {2}loyalty +[\\d,]+ +[\\d,]+ +[\\d,]+ +[\\d,]+ +${GROUPED}$`, 'm'));
    expect(r.stdout).not.toMatch(/(?<![\d.,+-])\d{4,}(?![\d-])/); // no ungrouped count anywhere
  });

  it('portfolio: the summary line, counts grouped; silent progress through a pipe', async () => {
    const r = await cli('portfolio', '--transactions', transactions, '--as-of', AS_OF);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`; ${GROUPED} transactions from ${transactions} in [\\d.]+ s\\n`));
  });

  it('rules schemas ends with a summary line', async () => {
    const r = await cli('rules', 'schemas', '--check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rules\/schema: the \d+ schemas are up to date\n$/);
  });

  describe('--strict lists the rejected lines by number, and why', () => {
    let bad: string;
    beforeAll(async () => {
      bad = join(dir, 'bad.ndjson');
      await writeFile(
        bad,
        [
          JSON.stringify({ customerId: 'a', at: '2026-02-01', amount: 10 }),
          '{not json',
          JSON.stringify({ customerId: 'b', at: '2026-02-01', amount: 20 }),
          JSON.stringify({ customerId: 'c', at: '2026-02-01', amount: 'ten', coupon: 'X' }),
          JSON.stringify({ customerId: 'd', at: '2026-02-30', amount: 5 }),
        ].join('\n'),
      );
    });

    it('profiles build refuses the file, nothing built, exit 1', async () => {
      const out = join(dir, 'strict.ndjson');
      const r = await cli('profiles', 'build', '--transactions', bad, '--out', out, '--as-of', AS_OF, '--strict');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${bad}:2: / invalid JSON`));
      expect(lines[1]).toMatch(new RegExp(`^${bad}:4: /amount .+; / Unrecognized key: "coupon"$`));
      expect(lines[2]).toMatch(new RegExp(`^${bad}:5: /at `));
      expect(lines[3]).toBe('profiles build: 3 line(s) rejected; --strict refuses the file, nothing built');
      expect(lines).toHaveLength(4);
      await expect(access(out)).rejects.toThrow();
    });

    it('portfolio lists them the same way; without --strict they are listed and skipped', async () => {
      const strict = await cli('portfolio', '--transactions', bad, '--as-of', AS_OF, '--strict');
      expect(strict.code).toBe(1);
      const built = await cli('profiles', 'build', '--transactions', bad, '--out', '-', '--as-of', AS_OF, '--strict');
      const listed = (s: string) => s.split('\n').filter((l) => l.startsWith(`${bad}:`));
      expect(listed(strict.stderr)).toEqual(listed(built.stderr));
      expect(strict.stderr).toContain('portfolio: 3 line(s) rejected; --strict refuses the file, nothing computed');
      const lenient = await cli('profiles', 'build', '--transactions', bad, '--out', '-', '--as-of', AS_OF);
      expect(lenient.code).toBe(0);
      expect(listed(lenient.stderr)).toEqual(listed(built.stderr));
      expect(lenient.stderr).toContain('profiles build: 3 line(s) rejected and skipped');
      expect(lenient.stdout.trim().split('\n')).toHaveLength(2); // a and b
    });
  });

  describe('a --as-of long after the last purchase is warned about', () => {
    const history = (last: string) =>
      [
        JSON.stringify({ customerId: 'a', at: '2025-06-01', amount: 10 }),
        JSON.stringify({ customerId: 'b', at: last, amount: 20 }),
        JSON.stringify({ customerId: 'a', at: '2025-09-01', amount: 15 }),
      ].join('\n');
    let old: string;
    let recent: string;
    const today = formatDay(Date.now());
    const daysAgo = (n: number) => formatDay(Date.now() - n * DAY);
    beforeAll(async () => {
      old = join(dir, 'old.ndjson');
      recent = join(dir, 'recent.ndjson');
      await writeFile(old, history('2026-02-27'));
      await writeFile(recent, history(daysAgo(3)));
    });

    it('portfolio and profiles build, with --as-of and with today', async () => {
      for (const [name, args] of [
        ['portfolio', ['portfolio', '--transactions', old, '--json']],
        ['profiles build', ['profiles', 'build', '--transactions', old, '--out', '-', '--json']],
      ] as const) {
        const given = await cli(...args, '--as-of', '2026-12-07');
        expect(given.code).toBe(0);
        expect(given.stderr).toContain(
          `${name}: the last purchase is on 2026-02-27, 283 days before --as-of 2026-12-07: recency and CLV are measured from --as-of; pass --as-of 2026-02-27 to measure at the end of the history\n`,
        );
        if (Date.now() > Date.parse('2026-03-30')) {
          const byDefault = await cli(...args);
          expect(byDefault.stderr).toMatch(
            new RegExp(
              `the last purchase is on 2026-02-27, [\\d,]+ days before --as-of ${today} \\(today, as none was given\\)`,
            ),
          );
        }
        // at the end of the history, or a recent one measured today: no warning
        const atEnd = await cli(...args, '--as-of', '2026-02-27');
        expect(atEnd.stderr).not.toContain('last purchase');
        const fresh = await cli(...args.map((a) => (a === old ? recent : a)));
        expect(fresh.code).toBe(0);
        expect(fresh.stderr).not.toContain('last purchase');
      }
    });

    it('from 31 days on', () => {
      const last = Date.parse('2026-02-27T15:00:00Z');
      const asOf = (day: string) => Date.parse(`${day}T23:59:59.999Z`);
      expect(staleAsOf('portfolio', last, asOf('2026-03-29'), true)).toBeUndefined(); // 30 days
      expect(staleAsOf('portfolio', last, asOf('2026-03-30'), true)).toMatch(/, 31 days before --as-of 2026-03-30:/);
      expect(staleAsOf('portfolio', Number.NaN, asOf('2026-03-30'), true)).toBeUndefined(); // no purchase at all
    });
  });
});
