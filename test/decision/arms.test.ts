import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../src/boot.js';
import { loadConfig } from '../../src/config.js';
import { bucket } from '../../src/decision/assign.js';
import { testApp } from '../support/app.js';
import { SHIPPED_RULES } from '../support/rules.js';

const ids = Array.from({ length: 600 }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);

/** A copy of the shipped rules with some JSON files rewritten. */
async function rulesCopy(edit: Record<string, (json: Record<string, unknown>) => void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-exp-'));
  await cp(SHIPPED_RULES, dir, { recursive: true });
  for (const [file, change] of Object.entries(edit)) {
    const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
    change(json);
    await writeFile(join(dir, file), JSON.stringify(json, null, 2));
  }
  return dir;
}

// Arms: a sticky control group and a challenger rule set, chosen by hashes anyone can recompute.
describe('control group and challenger', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('holds out the shipped 5 %, exactly the customers the documented hash picks, sticky', async () => {
    const t = await testApp({ DEMO_CUSTOMERS: '600' });
    const control = t.services.rules.active!.manifest.controlGroup!;
    const arms = await Promise.all(
      ids.map(
        async (customerId) =>
          (await (await t.post('/v1/decisions', { customerId, channel: 'web' })).json()).arm as string,
      ),
    );
    const expected = ids.map((id) =>
      bucket(`control:${control.experiment}`, id) < control.share ? 'control' : 'champion',
    );
    expect(arms).toEqual(expected);
    const held = arms.filter((a) => a === 'control').length;
    expect(held).toBeGreaterThan(10); // ≈ 30 of 600
    expect(held).toBeLessThan(60);
    const first = ids[arms.indexOf('control')]!;
    for (let i = 0; i < 5; i++)
      expect(await (await t.post('/v1/decisions', { customerId: first, channel: 'call-center' })).json()).toMatchObject(
        { arm: 'control', controlGroup: true },
      );
  });

  it('gives a control group with offers "none" nothing, and "random" eligible offers in varying order', async () => {
    const none = await rulesCopy({
      'manifest.json': (m) => void (m.controlGroup = { share: 0.5, offers: 'none', experiment: 'x' }),
    });
    const random = await rulesCopy({
      'manifest.json': (m) => void (m.controlGroup = { share: 0.5, offers: 'random', experiment: 'x' }),
    });
    dirs.push(none, random);
    const a = await testApp({ RULES_DIR: none, DEMO_CUSTOMERS: '600' });
    const b = await testApp({ RULES_DIR: random, DEMO_CUSTOMERS: '600' });
    const controls = ids.filter((id) => bucket('control:x', id) < 0.5).slice(0, 40);
    for (const customerId of controls) {
      const d = await (await a.post('/v1/decisions', { customerId, channel: 'web', explain: true })).json();
      expect(d).toMatchObject({ arm: 'control', controlGroup: true, offers: [] });
      expect(d.explanation.every((e: { note?: string }) => e.note === 'control group: no offers')).toBe(true);
    }
    // random: only eligible offers, not always in score order
    let unordered = 0;
    for (const customerId of controls) {
      const d = await (await b.post('/v1/decisions', { customerId, channel: 'web', explain: true, limit: 4 })).json();
      expect(d.arm).toBe('control');
      const eligible = new Set(
        d.explanation.filter((e: { eligible: boolean }) => e.eligible).map((e: { offerId: string }) => e.offerId),
      );
      for (const o of d.offers) expect(eligible.has(o.offerId)).toBe(true);
      const scores = d.offers.map((o: { score: number }) => o.score);
      if (scores.some((s: number, i: number) => i > 0 && s > scores[i - 1])) unordered++;
    }
    expect(unordered).toBeGreaterThan(5);
  });

  it('routes the challenger share to CHALLENGER_RULES_DIR, sticky and recorded', async () => {
    const challenger = await rulesCopy({ 'manifest.json': (m) => void (m.version = '2026.12.0-trial') });
    dirs.push(challenger);
    const t = await testApp({ DEMO_CUSTOMERS: '600', CHALLENGER_RULES_DIR: challenger, CHALLENGER_SHARE: '0.3' });
    const control = t.services.rules.active!.manifest.controlGroup!;
    let challengers = 0;
    for (const customerId of ids.slice(0, 300)) {
      const d = await (await t.post('/v1/decisions', { customerId, channel: 'web' })).json();
      const inControl = bucket(`control:${control.experiment}`, customerId) < control.share;
      const inChallenger = !inControl && bucket('challenger:2026.12.0-trial', customerId) < 0.3;
      expect(d.arm).toBe(inControl ? 'control' : inChallenger ? 'challenger' : 'champion');
      expect(d.rulesetVersion.startsWith('2026.12.0-trial+')).toBe(inChallenger);
      if (inChallenger) challengers++;
    }
    expect(challengers).toBeGreaterThan(50); // ≈ 0.3 × 0.95 × 300
  });

  it('refuses to start on an invalid challenger rule set, naming CHALLENGER_RULES_DIR', async () => {
    const config = loadConfig({
      DEMO_CUSTOMERS: '10',
      RULES_DIR: SHIPPED_RULES,
      CHALLENGER_RULES_DIR: '/nonexistent',
      LOG_LEVEL: 'silent',
    });
    await expect(buildServices(config, pino({ level: 'silent' }))).rejects.toThrow(/^CHALLENGER_RULES_DIR: /);
  });
});
