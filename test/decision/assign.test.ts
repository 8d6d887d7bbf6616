import { describe, expect, it } from 'vitest';
import type { Arm, Assignment } from '../../src/decision/assign.js';
import { assignArm, bucket } from '../../src/decision/assign.js';

const N = 100_000;
const ids = Array.from({ length: N }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);
const hex48 = (value: number) => (value * 2 ** 48).toString(16).padStart(12, '0');

// Computed outside Node (python3 hashlib, spot-checked with `openssl dgst -sha256`): sha256(experiment + "\n" + id)[:6].
const vectors: ReadonlyArray<readonly [experiment: string, customerId: string, hex: string, value: number]> = [
  ['ctl-2025', 'C0000001', '6c2b6abfdbe9', 0.42253749069269375],
  ['ctl-2025', 'C0000002', '43da966cb6ac', 0.2650541320241899],
  ['challenger-q3', 'C0000001', '0941eb1b1fff', 0.03616208469611237],
  ['', 'C0000001', '8e3a23894c40', 0.5555746278953393],
  ['ctl-2025', '', 'd9f245033295', 0.8513529904181105],
  ['', '', '01ba4719c80b', 0.006748622698108164],
  ['winback.test:v2', 'a-B_9.z:x', '30f0db0719d9', 0.19117516444552862],
  ['x', '0'.repeat(44), '9f64ff4a070c', 0.6226348453265445],
];

const split = (controlShare: number, challengerShare: number): Assignment => ({
  controlShare,
  controlExperiment: 'ctl-2025',
  challengerShare,
  challengerExperiment: 'challenger-q3',
});

const arms = (a: Assignment, customers: readonly string[] = ids) => customers.map((id) => assignArm(id, a));

describe('bucket', () => {
  it.each(vectors)('matches the committed vector for (%j, %j)', (experiment, customerId, hex, value) => {
    const b = bucket(experiment, customerId);
    expect(b).toBe(value);
    expect(hex48(b)).toBe(hex);
  });

  // Critical value of chi-square with 99 degrees of freedom at p = 0.001.
  it.each(['ctl-2025', 'challenger-q3'])('spreads customers evenly over 100 buckets for %j', (experiment) => {
    const counts = new Array<number>(100).fill(0);
    let outOfRange = 0;
    for (const id of ids) {
      const b = bucket(experiment, id);
      if (!(b >= 0 && b < 1)) outOfRange += 1;
      const k = Math.floor(b * 100);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(outOfRange).toBe(0);
    const expected = N / 100;
    const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(148.23);
  });
});

describe('assignArm', () => {
  it('gives the same arm for the same input, whatever the call order', () => {
    const a = split(0.1, 0.5);
    const sample = ids.slice(0, 2_000);
    const forward = arms(a, sample);
    const backward = arms(a, [...sample].reverse()).reverse();
    const interleaved = sample.map((id) => {
      assignArm(`other-${id}`, split(0.5, 0.5));
      return assignArm(id, a);
    });
    expect(backward).toEqual(forward);
    expect(interleaved).toEqual(forward);
    for (let i = 0; i < 5; i++) expect(assignArm('C0000001', a)).toBe(forward[0]);
  });

  it('honours the control and challenger shares', () => {
    const result = arms(split(0.05, 0.2));
    const count = (arm: Arm) => result.filter((r) => r === arm).length;
    const control = count('control');
    // 0.004 is ~5.8 sd of a 5 % share over 100 000 draws, 0.008 ~6.2 sd of 20 % over ~95 000: deterministic, never flaky.
    expect(control / N).toBeGreaterThan(0.05 - 0.004);
    expect(control / N).toBeLessThan(0.05 + 0.004);
    expect(count('challenger') / (N - control)).toBeGreaterThan(0.2 - 0.008);
    expect(count('challenger') / (N - control)).toBeLessThan(0.2 + 0.008);
  });

  it('keeps the challenger split independent of an unrelated control split', () => {
    const result = arms(split(0.05, 0.2));
    const tally = { inside: { challenger: 0, all: 0 }, outside: { challenger: 0, all: 0 } };
    result.forEach((arm, i) => {
      if (arm === 'control') return;
      const t = bucket('unrelated-holdout', ids[i] ?? '') < 0.5 ? tally.inside : tally.outside;
      t.all += 1;
      if (arm === 'challenger') t.challenger += 1;
    });
    // Two halves of ~47 500 each: 0.015 is ~5.8 sd of the difference of their challenger shares.
    const diff = tally.inside.challenger / tally.inside.all - tally.outside.challenger / tally.outside.all;
    expect(Math.abs(diff)).toBeLessThan(0.015);
  });

  it('never assigns a share of 0 and always assigns a share of 1', () => {
    const sample = ids.slice(0, 5_000);
    expect(new Set(arms(split(0, 0), sample))).toEqual(new Set(['champion']));
    expect(new Set(arms(split(1, 1), sample))).toEqual(new Set(['control']));
    expect(new Set(arms(split(0, 1), sample))).toEqual(new Set(['challenger']));
  });

  it('accepts an empty experiment name as a salt of its own', () => {
    const a: Assignment = { ...split(0.5, 0.2), controlExperiment: '' };
    const sample = ids.slice(0, 2_000);
    const inControl = arms(a, sample).map((arm) => arm === 'control');
    expect(inControl).toEqual(sample.map((id) => bucket('', id) < 0.5));
    expect(inControl).not.toEqual(arms(split(0.5, 0.2), sample).map((arm) => arm === 'control'));
    // 0.05 is ~4.5 sd of a 50 % share over 2 000 draws.
    expect(Math.abs(inControl.filter(Boolean).length / sample.length - 0.5)).toBeLessThan(0.05);
  });
});
