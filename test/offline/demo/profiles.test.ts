import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemoData } from '../../../src/cli/demo-data.js';
import {
  generateProfiles,
  PRODUCTS,
  SEGMENT_RETENTION,
  segmentCounts,
  summarize,
} from '../../../src/offline/demo/profiles.js';
import type { LifecyclePhase, ValueSegment } from '../../../src/profiles/schema.js';
import { Profile, VALUE_SEGMENTS } from '../../../src/profiles/schema.js';

const base = generateProfiles({ customers: 10_000, seed: 42 });
const of = (segment: ValueSegment) => base.filter((p) => p.valueSegment === segment);
const inPhase = (phase: LifecyclePhase) => base.filter((p) => p.lifecyclePhase === phase);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const share = (predicate: (p: Profile) => boolean) => base.filter(predicate).length / base.length;

/** A stdout stand-in; a slow one acknowledges each write a tick later so 'drain' really matters. */
function sink(slow = false): { stream: Writable; text: () => string; peakBufferedBytes: () => number } {
  const chunks: string[] = [];
  let peak = 0;
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      peak = Math.max(peak, stream.writableLength);
      if (slow) setImmediate(callback);
      else callback();
    },
  });
  return { stream, text: () => chunks.join(''), peakBufferedBytes: () => peak };
}

describe('generateProfiles', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = generateProfiles({ customers: 300, seed: 7 });
    expect(generateProfiles({ customers: 300, seed: 7 })).toEqual(a);
    const b = generateProfiles({ customers: 300, seed: 8 });
    expect(b).not.toEqual(a);
    expect(b.filter((p, i) => p.annualRevenue === a[i]?.annualRevenue).length).toBeLessThan(10);
  });

  it('numbers customers C0000001 upwards and every profile passes the schema unchanged', () => {
    expect(base[0]?.customerId).toBe('C0000001');
    expect(base.at(-1)?.customerId).toBe('C0010000');
    expect(new Set(base.map((p) => p.customerId)).size).toBe(base.length);
    expect(base.filter((p) => JSON.stringify(Profile.parse(p)) !== JSON.stringify(p))).toEqual([]);
  });

  it('cuts the revenue ranking into exactly 5/15/50/30 %', () => {
    expect(summarize(base).segments).toEqual({ super: 500, top: 1500, middle: 5000, bottom: 3000 });
    expect(segmentCounts(101)).toEqual({ super: 5, top: 15, middle: 51, bottom: 30 });
    for (const n of [1, 7, 20, 101, 999]) {
      const counts = summarize(generateProfiles({ customers: n, seed: 1 })).segments;
      expect(counts).toEqual(segmentCounts(n));
      expect(counts.super + counts.top + counts.middle + counts.bottom).toBe(n);
    }
    expect(generateProfiles({ customers: 0, seed: 1 })).toEqual([]);
  });

  it('ranks segments by revenue: every super earns at least every top, and so on', () => {
    for (const profiles of [base, generateProfiles({ customers: 101, seed: 3 })]) {
      for (let i = 0; i + 1 < VALUE_SEGMENTS.length; i++) {
        const higher = profiles.filter((p) => p.valueSegment === VALUE_SEGMENTS[i]).map((p) => p.annualRevenue);
        const lower = profiles.filter((p) => p.valueSegment === VALUE_SEGMENTS[i + 1]).map((p) => p.annualRevenue);
        expect(Math.min(...higher)).toBeGreaterThanOrEqual(Math.max(...lower));
      }
    }
  });

  it('has a log-normal revenue with a median near 450 and a long tail', () => {
    const sorted = base.map((p) => p.annualRevenue).sort((a, b) => a - b);
    expect(sorted[5000]).toBeGreaterThan(400);
    expect(sorted[5000]).toBeLessThan(500);
    expect(Math.min(...of('super').map((p) => p.annualRevenue))).toBeGreaterThan(1500);
    expect(sorted.at(-1)).toBeGreaterThan(5000);
  });

  it('computes CLV as revenue x segment duration, to the cent', () => {
    expect(SEGMENT_RETENTION).toEqual({ super: 0.92, top: 0.88, middle: 0.8, bottom: 0.65 });
    const off = base.filter((p) => {
      const expected = p.annualRevenue / (1 - SEGMENT_RETENTION[p.valueSegment]);
      return Math.abs(p.clv - expected) > 0.005 + 1e-6 || Math.round(p.clv * 100) / 100 !== p.clv;
    });
    expect(off).toEqual([]);
    const clv = summarize(base).meanClvBySegment;
    expect(clv.super).toBeGreaterThan(clv.top);
    expect(clv.top).toBeGreaterThan(clv.middle);
    expect(clv.middle).toBeGreaterThan(clv.bottom);
  });

  it('spreads lifecycle phases about 10/65/15/10, with more regain in bottom than super', () => {
    const expected = { new: 0.1, loyalty: 0.65, retain: 0.15, regain: 0.1 };
    for (const [phase, target] of Object.entries(expected)) {
      expect(Math.abs(share((p) => p.lifecyclePhase === phase) - target)).toBeLessThan(0.02);
    }
    const regainShare = (s: ValueSegment) => of(s).filter((p) => p.lifecyclePhase === 'regain').length / of(s).length;
    expect(regainShare('bottom')).toBeGreaterThan(regainShare('super') + 0.04);
  });

  it('scores churn clearly higher in retain and regain than in loyalty', () => {
    const churn = summarize(base).meanChurnByPhase;
    expect(churn.retain - churn.loyalty).toBeGreaterThan(0.4);
    expect(churn.regain).toBeGreaterThan(churn.retain);
    expect(churn.new).toBeGreaterThan(churn.loyalty);
    expect(Math.abs(churn.loyalty - 0.15)).toBeLessThan(0.03);
    expect(base.filter((p) => Math.round(p.churnScore * 1000) / 1000 !== p.churnScore)).toEqual([]);
  });

  it('keeps new customers under 100 days and everyone else at 100 days up to about 15 years', () => {
    expect(base.filter((p) => (p.lifecyclePhase === 'new') !== p.tenureDays < 100 || p.tenureDays > 15 * 365)).toEqual(
      [],
    );
    expect(mean(inPhase('regain').map((p) => p.tenureDays))).toBeGreaterThan(
      mean(inPhase('loyalty').map((p) => p.tenureDays)),
    );
  });

  it('gives everyone an access product, never broadband with fibre, more products higher up', () => {
    const known = new Set<string>(PRODUCTS);
    const wrong = base.filter(
      ({ productsHeld: held }) =>
        !held.some((c) => c === 'mobile' || c === 'broadband' || c === 'fibre') ||
        (held.includes('broadband') && held.includes('fibre')) ||
        !held.every((c) => known.has(c)) ||
        new Set(held).size !== held.length,
    );
    expect(wrong).toEqual([]);
    const held = (s: ValueSegment) => mean(of(s).map((p) => p.productsHeld.length));
    expect(held('super')).toBeGreaterThan(held('top'));
    expect(held('top')).toBeGreaterThan(held('middle'));
    expect(held('middle')).toBeGreaterThan(held('bottom'));
  });

  it('draws consents, NPS and attributes with plausible shares', () => {
    expect(Math.abs(share((p) => p.consents.includes('web')) - 0.85)).toBeLessThan(0.03);
    expect(Math.abs(share((p) => p.consents.includes('call-center')) - 0.7)).toBeLessThan(0.03);
    expect(Math.abs(share((p) => p.npsScore !== undefined) - 0.6)).toBeLessThan(0.03);
    const nps = (phase: LifecyclePhase) =>
      mean(inPhase(phase).flatMap((p) => (p.npsScore === undefined ? [] : [p.npsScore])));
    expect(nps('loyalty')).toBeGreaterThan(nps('retain') + 1);
    const intIn = (v: unknown, lo: number, hi: number) =>
      Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
    const wrong = base.filter(
      ({ consents, productsHeld, attributes: a }) =>
        !consents.every((c) => ['web', 'call-center', 'email', 'sms'].includes(c)) ||
        !intIn(a.contractMonthsLeft, 0, 24) ||
        typeof a.paymentLate !== 'boolean' ||
        typeof a.appUser !== 'boolean' ||
        (productsHeld.includes('mobile') ? !intIn(a.dataUsagePct, 0, 150) : a.dataUsagePct !== undefined),
    );
    expect(wrong).toEqual([]);
    const contract = (phase: LifecyclePhase) =>
      mean(inPhase(phase).map((p) => p.attributes.contractMonthsLeft as number));
    expect(contract('retain')).toBeLessThan(contract('loyalty') - 5);
    const late = (s: ValueSegment) => of(s).filter((p) => p.attributes.paymentLate === true).length / of(s).length;
    expect(late('bottom')).toBeGreaterThan(late('super'));
  });

  it('summarizes an empty base without NaN', () => {
    expect(summarize([]).meanChurnByPhase).toEqual({ new: 0, loyalty: 0, retain: 0, regain: 0 });
  });
});

describe('runDemoData', () => {
  it('writes one parseable profile per line to stdout, matching generateProfiles', async () => {
    const out = sink(true);
    const err = sink();
    expect(await runDemoData(['--customers', '1500', '--seed', '9'], { stdout: out.stream, stderr: err.stream })).toBe(
      0,
    );
    const lines = out.text().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1500);
    expect(lines.map((l) => Profile.parse(JSON.parse(l)))).toEqual(generateProfiles({ customers: 1500, seed: 9 }));
    expect(err.text()).toBe('');
    // Waiting for 'drain' keeps at most about one chunk queued, not the whole output.
    expect(out.peakBufferedBytes()).toBeLessThan(out.text().length / 2);
  });

  it('defaults to 10 000 customers with seed 42', async () => {
    const out = sink();
    expect(await runDemoData([], { stdout: out.stream, stderr: sink().stream })).toBe(0);
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(10_000);
    expect(JSON.parse(lines[123] ?? '')).toEqual(base[123]);
  });

  it('writes to --out FILE', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nextbest-demo-')), 'base.ndjson');
    const out = sink();
    expect(await runDemoData(['--customers=700', `--out=${file}`], { stdout: out.stream, stderr: sink().stream })).toBe(
      0,
    );
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(700);
    expect(out.text()).toBe('');
  });

  it.each([
    [['--customers', 'abc']],
    [['--customers', '0']],
    [['--customers', '-5']],
    [['--customers', '1.5']],
    [['--seed', 'x']],
    [['--bogus']],
    [['positional']],
    [['--out']],
    [['--as-of', '2026-03-01']],
  ])('returns 2 with a message on stderr for %j', async (args) => {
    const out = sink();
    const err = sink();
    expect(await runDemoData(args, { stdout: out.stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(/demo-data/);
    expect(out.text()).toBe('');
  });

  it('writes transactions instead of profiles with --transactions (more in test/offline/demo/transactions.test.ts)', async () => {
    const out = sink();
    expect(
      await runDemoData(['--transactions', '--customers', '3', '--as-of', '2026-03-01'], {
        stdout: out.stream,
        stderr: sink().stream,
      }),
    ).toBe(0);
    const first = JSON.parse(out.text().split('\n')[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({
      customerId: 'C0000001',
      at: expect.stringMatching(/^20\d\d-/),
      amount: expect.any(Number),
    });
  });

  it('returns 1 when the output file cannot be opened', async () => {
    const err = sink();
    const code = await runDemoData(['--out', join(tmpdir(), 'no-such-dir-nextbest', 'x.ndjson')], {
      stdout: sink().stream,
      stderr: err.stream,
    });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/cannot write/);
  });
});
