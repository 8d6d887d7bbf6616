import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../src/boot.js';
import { loadConfig } from '../../src/config.js';
import { bucket } from '../../src/decision/assign.js';
import { testApp } from '../support/app.js';
import { rulesCopy, SHIPPED_RULES } from '../support/rules.js';

const ids = Array.from({ length: 600 }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);

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

  it('holds out the named groups: "none" shows none of them, "random" puts them in random order; service and save are scored', async () => {
    const none = await rulesCopy({
      'manifest.json': (m) => void (m.controlGroup = { share: 0.5, offers: 'none', experiment: 'x' }),
    });
    const random = await rulesCopy({
      'manifest.json': (m) => void (m.controlGroup = { share: 0.5, offers: 'random', experiment: 'x' }),
    });
    dirs.push(none, random);
    const a = await testApp({ RULES_DIR: none, DEMO_CUSTOMERS: '600' });
    const b = await testApp({ RULES_DIR: random, DEMO_CUSTOMERS: '600' });
    const controls = ids.filter((id) => bucket('control:x', id) < 0.5).slice(0, 60);
    type Explained = {
      offerId: string;
      group: string;
      eligible: boolean;
      rank: number | null;
      note?: string;
      scoreParts: { score: number } | null;
    };
    type Answer = {
      arm: string;
      offers: { offerId: string; group: string; score: number }[];
      explanation: Explained[];
    };
    const everyone = new Set(['service', 'save']);
    let kept = 0;
    for (const customerId of controls) {
      const d = (await (
        await a.post('/v1/decisions', {
          customerId,
          channel: 'call-center',
          explain: true,
          context: { intent: 'cancel' },
        })
      ).json()) as Answer;
      expect(d).toMatchObject({ arm: 'control', controlGroup: true });
      for (const o of d.offers) expect(everyone.has(o.group), o.offerId).toBe(true);
      kept += d.offers.length;
      for (const e of d.explanation)
        if (!everyone.has(e.group)) expect(e.note).toBe(`control group: the ${e.group} group is held out, not shown`);
    }
    // a cancel call still gets its save offers
    expect(kept).toBeGreaterThan(10);
    // random: only eligible offers; the held-out ones not always in score order, the others where their score puts them
    let unordered = 0;
    for (const customerId of controls) {
      const d = (await (
        await b.post('/v1/decisions', { customerId, channel: 'web', explain: true, limit: 4 })
      ).json()) as Answer;
      expect(d.arm).toBe('control');
      const eligible = d.explanation.filter((e) => e.eligible);
      for (const o of d.offers) expect(eligible.some((e) => e.offerId === o.offerId)).toBe(true);
      const scores = d.offers.map((o) => o.score);
      if (scores.some((s, i) => i > 0 && s > scores[i - 1]!)) unordered++;
      for (const e of eligible) if (!everyone.has(e.group)) expect(e.note).toMatch(/random order, not by score/);
      // the best-scored eligible offer of a group everyone gets keeps the first place
      const best = eligible.reduce((x, y) => (y.scoreParts!.score > x.scoreParts!.score ? y : x), eligible[0]!);
      if (best && everyone.has(best.group) && best.note === undefined) expect(d.offers[0]!.offerId).toBe(best.offerId);
    }
    expect(unordered).toBeGreaterThan(5);
  });

  it('refuses a control group that holds out service or save, or names an undeclared channel', async () => {
    for (const [controlGroup, path] of [
      [{ share: 0.1, groups: ['develop', 'save'] }, 'controlGroup.groups.1'],
      [{ share: 0.1, groups: ['service'] }, 'controlGroup.groups.0'],
      // email is an outbound channel of the shipped manifest, so declared: kiosk is not
      [{ share: 0.1, offers: { web: 'none', kiosk: 'random' } }, 'channel "kiosk" is not declared'],
    ] as const) {
      const dir = await rulesCopy({ 'manifest.json': (m) => void (m.controlGroup = controlGroup) });
      dirs.push(dir);
      const { loadRuleSet } = await import('../../src/rules/load.js');
      const loaded = await loadRuleSet(dir);
      expect(loaded.ok, JSON.stringify(controlGroup)).toBe(false);
      if (!loaded.ok) expect(loaded.errors.map((e) => e.message).join('\n')).toContain(path);
    }
  });

  it("picks the demo pages' sample customers outside the control group", async () => {
    const t = await testApp({ DEMO_CUSTOMERS: '2000' });
    const picked = t.services.demoCustomers;
    expect(picked.length).toBe(16);
    const control = t.services.rules.active!.manifest.controlGroup!;
    for (const c of picked)
      expect(bucket(`control:${control.experiment}`, c.customerId)).toBeGreaterThanOrEqual(control.share);
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
