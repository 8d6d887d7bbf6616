import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/outbound/records.js';
import { parseWeek } from '../../src/outbound/week.js';
import { OUTBOUND_CHANNELS, readRun, sortedLines } from '../support/outbound.js';
import { exited, ROOT, run } from '../support/process.js';
import { testPrefix, testRedis } from '../support/redis.js';

// `nextbest outbound run` killed (SIGKILL) in its write phase and run again: the same files as a
// run that was never stopped, nobody listed twice, nothing sent twice.
const WEEK = '2026-W50';
const CLI = 'bin/nextbest.js';
const DAY = Math.floor(parseWeek(WEEK)!.start / 86_400_000);

let dir: string;
let profiles: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nextbest-outbound-resume-'));
  profiles = join(dir, 'profiles.ndjson');
  const made = await run([CLI, 'demo-data', '--customers', '100000', '--out', profiles]);
  expect(made.code, made.stderr).toBe(0);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const start = (args: string[], env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, [CLI, 'outbound', 'run', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });

/**
 * Starts the run, waits until its record says it is writing and has saved a checkpoint (and
 * `ready` says so too), lets it write a little longer, then kills it: the record it leaves must
 * be mid-write.
 */
async function killedMidWrite(
  args: string[],
  env: Record<string, string>,
  record: () => Promise<RunRecord | undefined>,
  linger: number,
  ready: (r: RunRecord) => Promise<boolean> = async () => true,
): Promise<RunRecord> {
  const child = start(args, env);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`the run ended (${child.exitCode}) before it was killed:\n${stderr}`);
      if (Date.now() > deadline) throw new Error('the run did not reach its write phase within 60 s');
      const r = await record().catch(() => undefined);
      if (r?.phase === 'write' && r.progress.done > 0 && r.checkpoint?.after && (await ready(r))) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, linger));
  } finally {
    child.kill('SIGKILL');
    await exited(child);
  }
  const left = (await record())!;
  expect(left.status, 'killed before it was done').toBe('running');
  expect(left.phase).toBe('write');
  return left;
}

/** The two runs' folders list the same lines, nobody twice on a channel, and their records agree. */
async function expectSameRun(resumedDir: string, wholeDir: string, resumed: RunRecord, whole: RunRecord) {
  const [a, b] = [await readRun(resumedDir), await readRun(wholeDir)];
  for (const name of Object.keys(b.raw)) {
    const [got, want] = [sortedLines(a.raw[name]!), sortedLines(b.raw[name]!)];
    expect(got.length, `${name}: lines`).toBe(want.length);
    expect(got, name).toEqual(want);
  }
  for (const ch of OUTBOUND_CHANNELS) {
    const ids = a.rows[ch]!.map((r) => r.customerId);
    expect(new Set(ids).size, `${ch}: a customer twice`).toBe(ids.length);
  }
  const ids = a.decisions.map((d) => `${d.customerId}|${d.channel}`);
  expect(new Set(ids).size, 'decisions.ndjson: a customer × channel twice').toBe(ids.length);
  const pick = (r: RunRecord) => ({
    status: r.status,
    counts: r.counts,
    heldOut: r.heldOut,
    unsent: r.unsent,
    customers: r.customers,
    entered: r.entered,
    exited: r.exited,
  });
  expect(pick(resumed)).toEqual(pick(whole));
  expect(b.rows.email!.length).toBeGreaterThan(10_000);
}

describe('outbound run, killed and run again', () => {
  it('in memory (--profiles, 100 000 customers): the files of an uninterrupted run, the same state for next week', async () => {
    const whole = join(dir, 'whole');
    const stopped = join(dir, 'stopped');
    const args = (out: string) => ['--week', WEEK, '--profiles', profiles, '--out', out];
    const runJson = async (d: string) => JSON.parse(await readFile(join(d, 'run.json'), 'utf8')) as RunRecord;
    const [uninterrupted] = await Promise.all([
      run([CLI, 'outbound', 'run', ...args(whole)]),
      killedMidWrite(args(stopped), {}, () => runJson(stopped), 150),
    ]);
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const again = await run([CLI, 'outbound', 'run', ...args(stopped)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^week 2026-W50: email [\d,]+/);
    await expectSameRun(stopped, whole, await runJson(stopped), await runJson(whole));
    // the state next week's run goes on from (--previous): the same, customer by customer
    const state = async (d: string) =>
      (await readFile(join(d, 'state.ndjson'), 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const { customerId, fields } = JSON.parse(l) as { customerId: string; fields: Record<string, number> };
          return JSON.stringify([customerId, Object.entries(fields).sort(([x], [y]) => (x < y ? -1 : 1))]);
        })
        .sort();
    expect(await state(stopped)).toEqual(await state(whole));
  });

  describe('with --redis', () => {
    let redis: Awaited<ReturnType<typeof testRedis>>;
    let r: Redis;
    let file: string;
    const prefixes = { whole: testPrefix('whole'), stopped: testPrefix('stopped') };

    beforeAll(async () => {
      redis = await testRedis();
      r = redis.client();
      // 30 000 of the customers: a run in Redis writes some 4 000 customers a second
      file = join(dir, 'profiles-30k.ndjson');
      const lines: string[] = [];
      for await (const line of createInterface({ input: createReadStream(profiles) })) {
        if (lines.length === 30_000) break;
        lines.push(line);
      }
      await writeFile(file, `${lines.join('\n')}\n`);
      const imports = await Promise.all(
        Object.values(prefixes).map((prefix) =>
          run([CLI, 'profiles', 'import', file, '--redis', redis.url], { REDIS_KEY_PREFIX: prefix }),
        ),
      );
      for (const i of imports) expect(i.code, i.stderr).toBe(0);
    });
    afterAll(async () => {
      r?.disconnect();
      await redis?.stop();
    });

    const recordOf = async (prefix: string) => {
      const text = await r.get(`${prefix}outbound:run:${WEEK}`);
      return text === null ? undefined : (JSON.parse(text) as RunRecord);
    };
    /** Every customer's contact-state fields under a prefix. */
    const contactState = async (prefix: string) => {
      const keys: string[] = [];
      for await (const batch of r.scanStream({ match: `${prefix}{*}:contacts`, count: 1_000 })) keys.push(...batch);
      const p = r.pipeline();
      for (const k of keys) p.hgetall(k);
      const replies = (await p.exec()) ?? [];
      const out = new Map<string, Record<string, string>>();
      for (const [i, k] of keys.entries())
        out.set(k.slice(prefix.length + 1, -'}:contacts'.length), replies[i]![1] as Record<string, string>);
      return out;
    };

    /** The customer ID `n` places after `id` in the generated population (C0000001, C0000002, …). */
    const later = (id: string, n: number) => `C${String(Number(id.slice(1)) + n).padStart(7, '0')}`;
    it('the files of an uninterrupted run; each customer marked once, no contact counted twice', async () => {
      const whole = join(dir, 'redis-whole');
      const stopped = join(dir, 'redis-stopped');
      const args = (out: string) => ['--week', WEEK, '--redis', redis.url, '--out', out];
      // killed once customers past its checkpoint are written (the window between a batch's writes and its
      // checkpoint, where there is one), else a second and a half into its writing
      let writing: number | undefined;
      const [uninterrupted] = await Promise.all([
        run([CLI, 'outbound', 'run', ...args(whole)], { REDIS_KEY_PREFIX: prefixes.whole }),
        killedMidWrite(
          args(stopped),
          { REDIS_KEY_PREFIX: prefixes.stopped },
          () => recordOf(prefixes.stopped),
          0,
          async (rec) => {
            writing ??= Date.now();
            const past = `${prefixes.stopped}{${later(rec.checkpoint!.after!, 300)}}:contacts`;
            return Date.now() - writing > 1_500 || (await r.hexists(past, `o|${WEEK}`)) === 1;
          },
        ),
      ]);
      expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
      const again = await run([CLI, 'outbound', 'run', ...args(stopped)], { REDIS_KEY_PREFIX: prefixes.stopped });
      expect(again.code, again.stderr).toBe(0);
      const [resumed, done] = [(await recordOf(prefixes.stopped))!, (await recordOf(prefixes.whole))!];
      await expectSameRun(stopped, whole, resumed, done);

      // the contact state: each customer written once (its run mark), each contact one decision and one impression
      const [state, wholeState] = [await contactState(prefixes.stopped), await contactState(prefixes.whole)];
      const out = await readRun(stopped);
      const marked = [...state.values()].filter((f) => f[`o|${WEEK}`] !== undefined);
      expect(marked.length).toBe(resumed.customers);
      let impressions = 0;
      for (const f of state.values())
        for (const [k, v] of Object.entries(f))
          if (k.startsWith('n|impression|')) {
            expect(v, k).toBe('1');
            impressions++;
          }
      expect(impressions).toBe(out.contacts.length);
      for (const c of out.contacts) {
        const f = state.get(c.customerId)!;
        expect(f[`n|impression|${c.channel}|${c.offerId}|${DAY}`], c.customerId).toBe('1');
        expect(f[`n|decision|${c.channel}|${c.offerId}|${DAY}`], c.customerId).toBe('1');
      }
      // and field for field what the uninterrupted run left
      expect(state.size).toBe(wholeState.size);
      for (const [id, fields] of wholeState) expect(state.get(id), id).toEqual(fields);
    });
  });
});
