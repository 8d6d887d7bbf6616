import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPortfolio } from '../../src/cli/portfolio.js';
import { type Portfolio, portfolio } from '../../src/offline/analytics/portfolio.js';
import { segmentSizes } from '../../src/offline/analytics/segments.js';
import { endOfDay } from '../../src/offline/analytics/timestamps.js';
import { readHistories } from '../../src/offline/analytics/transactions.js';
import { demoTransactionLine, iterateDemoTransactions, planDemo } from '../../src/offline/demo/transactions.js';
import { ROOT, run } from '../support/process.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/cli).

const N = 2000;
const SEED = 7;
const AS_OF = '2026-03-01';
let dir: string;
let file: string;

const cli = (...args: string[]) => run(['bin/nextbest.js', ...args]);

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** Runs the command with `input` on stdin. */
function withStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/nextbest.js', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function portfolioJson(...args: string[]): Promise<Portfolio> {
  const r = await cli('portfolio', ...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Portfolio;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nextbest-portfolio-'));
  file = join(dir, 'transactions.ndjson');
  const made = await cli(
    'demo-data',
    '--transactions',
    '--customers',
    String(N),
    '--seed',
    String(SEED),
    '--as-of',
    AS_OF,
    '--out',
    file,
  );
  expect(made.code, made.stderr).toBe(0);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nextbest portfolio --json', () => {
  it('prints exactly the contract shape', async () => {
    const p = await portfolioJson('--transactions', file, '--as-of', AS_OF);
    expect(Object.keys(p)).toEqual(['asOf', 'flows', 'segments', 'total']);
    expect(Object.keys(p.flows)).toEqual(['activeAtStart', 'retained', 'lost', 'regained', 'new', 'activeAtEnd']);
    expect(p.segments.map((s) => s.segment)).toEqual(['super', 'top', 'middle', 'bottom']);
    for (const s of p.segments) {
      expect(Object.keys(s)).toEqual([
        'segment',
        'customers',
        'share',
        'revenuePerCustomerPerYear',
        'retention',
        'duration',
        'clv',
        'clvIndex',
        'clvTotal',
      ]);
      expect(
        Object.values(s)
          .slice(1)
          .every((v) => typeof v === 'number'),
      ).toBe(true);
    }
    expect(Object.keys(p.total)).toEqual(['customers', 'retention', 'duration', 'clv', 'portfolioValue']);
    expect(p.asOf).toBe(AS_OF);
  });

  it('gives back the generated population: flows, segment sizes and retention as planned', async () => {
    const p = await portfolioJson('--transactions', file, '--as-of', AS_OF);
    const plan = planDemo(N, SEED);
    expect(p.flows).toEqual({
      activeAtStart: N,
      retained: N - plan.newcomers,
      lost: plan.newcomers,
      regained: plan.regained,
      new: plan.new,
      activeAtEnd: N,
    });
    const sizes = segmentSizes(N);
    for (const s of p.segments) {
      expect(s.customers).toBe(sizes[s.segment]);
      expect(s.retention).toBe(plan.retained[s.segment] / sizes[s.segment]);
    }
    expect(p.total.portfolioValue).toBeCloseTo(
      p.segments.reduce((sum, s) => sum + s.clvTotal!, 0),
      4,
    );
  });

  it('equals the library on the same lines, and reads stdin as -', async () => {
    const asOf = endOfDay(AS_OF);
    const lines = Array.from(iterateDemoTransactions({ customers: N, seed: SEED, asOf }), demoTransactionLine);
    const read = await readHistories(lines, asOf);
    const expected = JSON.parse(JSON.stringify(portfolio(read.customers.values(), asOf))) as Portfolio;
    const r = await withStdin(
      ['portfolio', '--transactions', '-', '--as-of', AS_OF, '--json'],
      await readFile(file, 'utf8'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('defaults --as-of to today (UTC)', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const r = await withStdin(
      ['portfolio', '--transactions', '-', '--json'],
      `${JSON.stringify({ customerId: 'a', at: today, amount: 10 })}\n`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ asOf: today, flows: { new: 1, activeAtEnd: 1 } });
  });
});

describe('nextbest portfolio (table)', () => {
  it('prints an aligned table with units, thousands separators, a total row and the flows', async () => {
    const r = await cli('portfolio', '--transactions', file, '--as-of', AS_OF);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).toMatch(
      /^Customer portfolio as of 2026-03-01\nthis year 2025-03-02 – 2026-03-01, last year 2024-03-02 – 2025-03-01; [\d,]+ transactions from /,
    );
    const lines = out.split('\n');
    const header = lines.find((l) => l.startsWith('segment'))!;
    for (const h of [
      'customers',
      'share',
      'revenue/customer/yr',
      'retention',
      'duration (yrs)',
      'CLV/customer',
      'CLV index',
      'CLV total',
    ])
      expect(header).toContain(h);
    const rows = ['super', 'top', 'middle', 'bottom', 'total'].map((s) => lines.find((l) => l.startsWith(`${s} `))!);
    expect(rows.every((l) => l !== undefined && l.length === header.length)).toBe(true); // right-aligned to the header
    expect(rows[4]).toMatch(/^total\s+2,000\s+100\.0%/);
    expect(rows[2]).toMatch(/^middle\s+1,000\s+50\.0%\s+\d{3}\s+\d\d\.\d%\s+\d\.\d\s+[\d,]+\s+\d+\.\d\s+[\d,]{9,}$/);
    expect(out).toMatch(/active at start\s+2,000 = retained [\d,]+ \+ lost \d+/);
    expect(out).toMatch(/active at end\s+2,000 = retained [\d,]+ \+ regained \d+ \+ new \d+/);
  });
});

describe('bad lines and exit codes', () => {
  let bad: string;
  beforeAll(async () => {
    bad = join(dir, 'bad.ndjson');
    await writeFile(
      bad,
      [
        JSON.stringify({ customerId: 'a', at: '2025-06-01', amount: 10 }),
        '{not json',
        JSON.stringify({ customerId: 'a', at: '2025-06-01', amount: 10, coupon: 'X' }),
        JSON.stringify({ customerId: 'b', at: '2025-06-01', amount: 20 }),
      ].join('\n'),
    );
  });

  it('reports bad lines on stderr with their numbers, skips them and exits 0', async () => {
    const r = await cli('portfolio', '--transactions', bad, '--as-of', AS_OF, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${bad}:2: / invalid JSON`);
    expect(r.stderr).toContain(`${bad}:3: / Unrecognized key: "coupon"`);
    expect(r.stderr).toMatch(/2 line\(s\) rejected and skipped/);
    expect((JSON.parse(r.stdout) as Portfolio).flows.activeAtEnd).toBe(2);
  });

  it('with --strict refuses the file: the bad lines on stderr, nothing on stdout, exit 1', async () => {
    const r = await cli('portfolio', '--transactions', bad, '--as-of', AS_OF, '--strict');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}:2:`);
    expect(r.stderr).toContain(`${bad}:3:`);
    expect(r.stderr).toMatch(/--strict refuses the file/);
  });

  it('exits 1 when the file cannot be read', async () => {
    for (const path of [join(dir, 'missing.ndjson'), dir]) {
      const r = await cli('portfolio', '--transactions', path);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/portfolio: cannot read/);
    }
  });

  it('exits 2 with the usage for a missing --transactions', async () => {
    const r = await cli('portfolio', '--as-of', AS_OF);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--transactions FILE is required[\s\S]*usage: nextbest portfolio --transactions FILE/);
    expect(r.stdout).toBe('');
  });

  // the same parse in-process (the flags are checked before the file is opened)
  it.each([
    [[]],
    [['--transactions']],
    [['--transactions', 'x.ndjson', '--as-of', '2026-02-30']],
    [['--transactions', 'x.ndjson', '--as-of', '1 March']],
    [['--transactions', 'x.ndjson', '--bogus']],
    [['--transactions', 'x.ndjson', 'extra']],
    [['--transactions', 'x.ndjson', '--json=yes']],
  ])('returns 2 with the usage for %j', async (args) => {
    const out = sink();
    const err = sink();
    expect(await runPortfolio(args, { stdout: out.stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(/^portfolio: [\s\S]*usage: nextbest portfolio --transactions FILE/);
    expect(out.text()).toBe('');
  });

  it('is listed in the main usage', async () => {
    const r = await cli('help');
    expect(r.stdout).toMatch(/nextbest portfolio --transactions FILE \[--as-of DATE\] \[--json\] \[--strict\]/);
    expect(r.stdout).toMatch(/nextbest demo-data --transactions/);
  });
});
